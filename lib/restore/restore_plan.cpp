#include "restore/restore_plan.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <set>

namespace drwatch::restore {
namespace {

// Descriptions of more than one word, longest first where one prefixes another.
constexpr std::string_view kMultiWordDescs[] = {
    "MATERIALIZED VIEW DATA", "MATERIALIZED VIEW", "TABLE DATA", "FK CONSTRAINT", "CHECK CONSTRAINT",
    "SEQUENCE OWNED BY", "SEQUENCE SET", "DEFAULT ACL", "FOREIGN TABLE", "ROW SECURITY", "LARGE OBJECT",
    "BLOB METADATA", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE", "FOREIGN DATA WRAPPER", "USER MAPPING", "PUBLICATION TABLES IN SCHEMA",
    "PUBLICATION TABLE", "EVENT TRIGGER", "PROCEDURAL LANGUAGE", "DATABASE PROPERTIES", "SHELL TYPE",
    "ACCESS METHOD", "OPERATOR CLASS", "OPERATOR FAMILY", "INDEX ATTACH", "TABLE ATTACH", "FOREIGN SERVER",
};

// Entries whose tag is the relation itself.
bool IsRelation(std::string_view desc) {
  return desc == "TABLE" || desc == "TABLE DATA" || desc == "VIEW" || desc == "MATERIALIZED VIEW" ||
         desc == "MATERIALIZED VIEW DATA" || desc == "FOREIGN TABLE" || desc == "ROW SECURITY";
}

// Entries whose tag is "<table> <name>".
bool IsOnTable(std::string_view desc) {
  return desc == "CONSTRAINT" || desc == "FK CONSTRAINT" || desc == "CHECK CONSTRAINT" || desc == "TRIGGER" ||
         desc == "POLICY" || desc == "RULE" || desc == "DEFAULT";
}

// Handled by pg_restore whatever the list says; listed in every pass.
bool IsSpecial(std::string_view desc) { return desc == "ENCODING" || desc == "STDSTRINGS" || desc == "SEARCHPATH"; }

std::optional<int> ToInt(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view NextWord(std::string_view& s) {
  auto sp = s.find(' ');
  std::string_view word = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return word;
}

std::optional<TocEntry> ParseEntry(std::string_view line) {
  auto semi = line.find("; ");
  if (semi == std::string_view::npos) return std::nullopt;
  auto id = ToInt(line.substr(0, semi));
  if (!id) return std::nullopt;
  std::string_view rest = line.substr(semi + 2);
  NextWord(rest);  // catalog oid
  NextWord(rest);  // object oid
  TocEntry e;
  e.id = *id;
  e.line = std::string(line);
  for (auto desc : kMultiWordDescs) {
    if (rest.starts_with(desc) && rest.size() > desc.size() && rest[desc.size()] == ' ') {
      e.desc = std::string(desc);
      rest.remove_prefix(desc.size() + 1);
      break;
    }
  }
  if (e.desc.empty()) e.desc = std::string(NextWord(rest));
  e.schema = std::string(NextWord(rest));
  auto owner = rest.rfind(' ');  // the owner is the last word (empty for some)
  e.tag = std::string(owner == std::string_view::npos ? rest : rest.substr(0, owner));
  return e;
}

using Table = std::pair<std::string, std::string>;  // schema, name

// Where an entry belongs: a table, or (no table) a schema.
struct Home {
  std::optional<Table> table;
  std::string schema;
};

// Tables that live inside another: a partition or an inheritance child
// depends on its parent's TABLE entry (pg_dump's own dependency). Maps each
// TABLE entry's index to the index of its root (itself when it has none).
std::vector<std::size_t> RootTables(const std::vector<TocEntry>& toc, const std::map<int, std::size_t>& index) {
  std::vector<std::size_t> parent(toc.size());
  for (std::size_t i = 0; i < toc.size(); ++i) {
    parent[i] = i;
    if (toc[i].desc != "TABLE") continue;
    for (int dep : toc[i].deps) {
      auto it = index.find(dep);
      if (it != index.end() && it->second != i && toc[it->second].desc == "TABLE") {
        parent[i] = it->second;
        break;
      }
    }
  }
  std::vector<std::size_t> root(toc.size());
  for (std::size_t i = 0; i < toc.size(); ++i) {
    std::size_t r = i;
    for (std::size_t hops = 0; parent[r] != r && hops < toc.size(); ++hops) r = parent[r];
    root[i] = r;
  }
  return root;
}

// Where each entry belongs. A relation and what is defined on it (by name)
// belong to its root table, so a partition, its data, its indexes and their
// attachments go with the partitioned table; anything else (an index, a
// sequence, an ACL, a publication's table) goes where the first table it
// depends on goes.
std::vector<Home> Homes(const std::vector<TocEntry>& toc, const std::map<int, std::size_t>& index) {
  auto root = RootTables(toc, index);
  std::map<Table, std::size_t> table_entry;
  for (std::size_t i = 0; i < toc.size(); ++i) {
    if (toc[i].desc == "TABLE") table_entry[Table{toc[i].schema, toc[i].tag}] = i;
  }
  auto rooted = [&](Table t) {
    auto it = table_entry.find(t);
    if (it == table_entry.end()) return t;
    const auto& r = toc[root[it->second]];
    return Table{r.schema, r.tag};
  };
  std::vector<Home> homes(toc.size());
  for (std::size_t i = 0; i < toc.size(); ++i) {
    const auto& e = toc[i];
    Home& h = homes[i];
    h.schema = e.desc == "SCHEMA" ? e.tag : e.schema;
    if (IsRelation(e.desc)) {
      h.table = rooted(Table{e.schema, e.tag});
    } else if (IsOnTable(e.desc) || e.desc == "TABLE ATTACH") {
      h.table = rooted(Table{e.schema, e.tag.substr(0, e.tag.find(' '))});
    } else {
      for (int dep : e.deps) {
        auto it = index.find(dep);
        if (it != index.end() && it->second < i && homes[it->second].table) {
          h.table = homes[it->second].table;
          break;
        }
      }
    }
    if (h.table) h.schema = h.table->first;
  }
  return homes;
}

// Orders pg_dump does not state as dependencies: attaching a partition's
// index needs the partition attached to its table first ("ALTER INDEX …
// ATTACH PARTITION" fails otherwise), but the INDEX ATTACH entry names only
// the indexes and tables.
std::vector<std::vector<int>> ImpliedDeps(const std::vector<TocEntry>& toc, const std::map<int, std::size_t>& index) {
  std::map<int, int> attach_of;  // partition TABLE id -> its TABLE ATTACH id
  for (const auto& e : toc) {
    if (e.desc != "TABLE ATTACH") continue;
    for (int dep : e.deps) {
      auto it = index.find(dep);
      if (it != index.end() && toc[it->second].desc == "TABLE" && toc[it->second].schema == e.schema &&
          toc[it->second].tag == e.tag) {
        attach_of[dep] = e.id;
      }
    }
  }
  std::vector<std::vector<int>> implied(toc.size());
  for (std::size_t i = 0; i < toc.size(); ++i) {
    if (toc[i].desc != "INDEX ATTACH") continue;
    for (int dep : toc[i].deps) {
      auto it = attach_of.find(dep);
      if (it != attach_of.end()) implied[i].push_back(it->second);
    }
  }
  return implied;
}

bool Covers(const SystemCover& system, const Home& home) {
  for (const auto& item : system.items) {
    if (item.find('.') == std::string::npos) {
      if (item == home.schema) return true;
    } else if (home.table && item == home.table->first + "." + home.table->second) {
      return true;
    }
  }
  return false;
}

class Planner {
 public:
  Planner(const std::vector<TocEntry>& toc, const std::vector<SystemCover>& systems) : toc_(toc), systems_(systems) {
    for (std::size_t i = 0; i < toc.size(); ++i) index_[toc[i].id] = i;
    homes_ = Homes(toc, index_);
    implied_ = ImpliedDeps(toc, index_);
    for (std::size_t i = 0; i < toc.size(); ++i) {
      if (toc[i].desc == "TABLE" && homes_[i].table) {
        home_of_table_[toc[i].schema + "." + toc[i].tag] = *homes_[i].table;
      }
    }
    owner_.assign(toc.size(), -1);
    for (std::size_t i = 0; i < toc.size(); ++i) {
      for (std::size_t s = 0; s < systems.size(); ++s) {
        if (Covers(systems[s], homes_[i])) {
          owner_[i] = static_cast<int>(s);
          break;
        }
      }
    }
  }

  // Whether system `s` covers the table "schema.name" (a partition or an
  // inheritance child through its root).
  bool CoversTable(std::size_t s, const std::string& qualified) const {
    auto dot = qualified.find('.');
    Table table{qualified.substr(0, dot), qualified.substr(dot + 1)};
    auto root = home_of_table_.find(qualified);
    if (root != home_of_table_.end()) table = root->second;
    return Covers(systems_[s], Home{table, table.first});
  }

  // The entries of pass `s` (systems_.size(): the rest), marked done.
  std::vector<std::string> Take(std::size_t s) {
    std::set<std::size_t> pass;
    for (std::size_t i = 0; i < toc_.size(); ++i) {
      if (done_.contains(i) || IsSpecial(toc_[i].desc)) continue;
      if (s == systems_.size() || owner_[i] == static_cast<int>(s)) Pull(i, pass);
    }
    // Foreign keys whose references are all restored by now.
    for (auto it = waiting_fks_.begin(); it != waiting_fks_.end();) {
      if (s == systems_.size() || Satisfied(*it, pass)) {
        pass.insert(*it);
        it = waiting_fks_.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<std::string> list;
    for (std::size_t i = 0; i < toc_.size(); ++i) {
      if (pass.contains(i)) {
        done_.insert(i);
        list.push_back(toc_[i].line);
      }
    }
    if (list.empty()) return list;
    std::vector<std::string> with_special;
    for (const auto& e : toc_) {
      if (IsSpecial(e.desc)) with_special.push_back(e.line);
    }
    with_special.insert(with_special.end(), list.begin(), list.end());
    return with_special;
  }

 private:
  // Adds entry i and what it depends on; foreign keys wait (see Take).
  void Pull(std::size_t i, std::set<std::size_t>& pass) {
    if (done_.contains(i) || pass.contains(i)) return;
    if (toc_[i].desc == "FK CONSTRAINT") {
      waiting_fks_.insert(i);
      return;
    }
    pass.insert(i);
    for (const std::vector<int>* deps : std::array<const std::vector<int>*, 2>{&toc_[i].deps, &implied_[i]}) {
      for (int dep : *deps) {
        auto it = index_.find(dep);
        if (it != index_.end()) Pull(it->second, pass);
      }
    }
  }

  bool Satisfied(std::size_t fk, const std::set<std::size_t>& pass) const {
    for (int dep : toc_[fk].deps) {
      auto it = index_.find(dep);
      if (it != index_.end() && !done_.contains(it->second) && !pass.contains(it->second)) return false;
    }
    return true;
  }

  const std::vector<TocEntry>& toc_;
  const std::vector<SystemCover>& systems_;
  std::map<int, std::size_t> index_;
  std::vector<Home> homes_;
  std::vector<std::vector<int>> implied_;  // dependencies pg_dump leaves unstated (see ImpliedDeps)
  std::map<std::string, Table> home_of_table_;  // "public.audit_logs_2026" -> its root table
  std::vector<int> owner_;  // index of the first system covering the entry, -1: none
  std::set<std::size_t> done_;
  std::set<std::size_t> waiting_fks_;
};

}  // namespace

std::string Qualified(std::string_view table) {
  if (table.find('.') != std::string_view::npos) return std::string(table);
  return "public." + std::string(table);
}

std::vector<TocEntry> ParseToc(std::string_view listing) {
  std::vector<TocEntry> toc;
  constexpr std::string_view kDeps = ";\tdepends on:";
  while (!listing.empty()) {
    auto nl = listing.find('\n');
    std::string_view line = listing.substr(0, nl);
    listing = nl == std::string_view::npos ? std::string_view() : listing.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with(kDeps)) {
      if (toc.empty()) continue;
      std::string_view rest = line.substr(kDeps.size());
      while (!rest.empty()) {
        auto word = NextWord(rest);
        if (auto id = ToInt(word)) toc.back().deps.push_back(*id);
      }
      continue;
    }
    if (line.empty() || line[0] == ';') continue;
    if (auto e = ParseEntry(line)) toc.push_back(std::move(*e));
  }
  return toc;
}

std::vector<RestorePass> PlanPasses(const std::vector<TocEntry>& toc, const std::vector<SystemCover>& systems,
                                    const std::vector<std::string>& manifest_tables) {
  const auto& qualified = systems;  // items: "x.y" a table, a bare name a schema
  Planner planner(toc, qualified);
  std::vector<RestorePass> passes;
  std::set<std::string> verified;
  for (std::size_t s = 0; s < qualified.size(); ++s) {
    RestorePass pass{qualified[s].name, planner.Take(s), {}};
    for (const auto& t : manifest_tables) {
      auto q = Qualified(t);
      if (planner.CoversTable(s, q) && verified.insert(q).second) pass.tables.push_back(q);
    }
    for (const auto& item : qualified[s].items) {
      if (item.find('.') != std::string::npos && verified.insert(item).second) pass.tables.push_back(item);
    }
    passes.push_back(std::move(pass));
  }
  RestorePass rest{"", planner.Take(qualified.size()), {}};
  for (const auto& t : manifest_tables) {
    auto q = Qualified(t);
    if (verified.insert(q).second) rest.tables.push_back(q);
  }
  if (!rest.list.empty() || !rest.tables.empty()) passes.push_back(std::move(rest));
  return passes;
}

}  // namespace drwatch::restore
