#include "restore/restore_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>

namespace drwatch::restore {
namespace {

using ::testing::ElementsAre;

// Real `pg_restore -l -v` output of a dump with an auth and a public schema.
constexpr char kListing[] = R"(;
; Archive created at 2026-11-26 23:50:22 UTC
;     dbname: postgres
;
; Selected TOC Entries:
;
3379; 0 0 ENCODING - ENCODING 
3380; 0 0 STDSTRINGS - STDSTRINGS 
3381; 0 0 SEARCHPATH - SEARCHPATH 
6; 2615 16384 SCHEMA - auth postgres
222; 1255 16428 FUNCTION public f() postgres
218; 1259 16397 TABLE auth sessions postgres
;	depends on: 6
217; 1259 16396 SEQUENCE auth sessions_id_seq postgres
;	depends on: 218 6
3384; 0 0 SEQUENCE OWNED BY auth sessions_id_seq postgres
;	depends on: 217
216; 1259 16386 TABLE auth users postgres
;	depends on: 6
215; 1259 16385 SEQUENCE auth users_id_seq postgres
;	depends on: 216 6
220; 1259 16411 TABLE public orders postgres
221; 1259 16424 VIEW public v postgres
;	depends on: 220 220 220
3214; 2604 16400 DEFAULT auth sessions id postgres
;	depends on: 217 218 218
3213; 2604 16389 DEFAULT auth users id postgres
;	depends on: 215 216 216
3374; 0 16397 TABLE DATA auth sessions postgres
;	depends on: 218
3372; 0 16386 TABLE DATA auth users postgres
;	depends on: 216
3376; 0 16411 TABLE DATA public orders postgres
;	depends on: 220
3388; 0 0 SEQUENCE SET auth users_id_seq postgres
;	depends on: 215
3222; 2606 16403 CONSTRAINT auth sessions sessions_pkey postgres
;	depends on: 218
3220; 2606 16393 CONSTRAINT auth users users_pkey postgres
;	depends on: 216
3225; 2606 16418 CONSTRAINT public orders orders_pkey postgres
;	depends on: 220
3223; 1259 16409 INDEX auth sessions_t_idx postgres
;	depends on: 218
3226; 2606 16404 FK CONSTRAINT auth sessions sessions_user_id_fkey postgres
;	depends on: 216 3220 218
3227; 2606 16419 FK CONSTRAINT public orders orders_user_id_fkey postgres
;	depends on: 216 220 3220
)";

std::vector<int> Ids(const RestorePass& pass) {
  std::vector<int> ids;
  for (const auto& line : pass.list) ids.push_back(std::stoi(line));
  return ids;
}

TEST(ParseToc, ReadsEntriesAndDependencies) {
  auto toc = ParseToc(kListing);
  ASSERT_EQ(toc.size(), 24u);
  EXPECT_EQ(toc[0].desc, "ENCODING");
  EXPECT_EQ(toc[0].tag, "ENCODING");
  EXPECT_EQ(toc[3].desc, "SCHEMA");
  EXPECT_EQ(toc[3].schema, "-");
  EXPECT_EQ(toc[3].tag, "auth");
  EXPECT_EQ(toc[7].desc, "SEQUENCE OWNED BY");
  EXPECT_EQ(toc[7].tag, "sessions_id_seq");
  const auto& fk = toc[22];
  EXPECT_EQ(fk.desc, "FK CONSTRAINT");
  EXPECT_EQ(fk.schema, "auth");
  EXPECT_EQ(fk.tag, "sessions sessions_user_id_fkey");
  EXPECT_THAT(fk.deps, ElementsAre(216, 3220, 218));
  EXPECT_EQ(fk.line, "3226; 2606 16404 FK CONSTRAINT auth sessions sessions_user_id_fkey postgres");
}

TEST(PlanPasses, ShortestSystemFirstWithItsDependencies) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {{"authentication", {"auth.users"}}, {"core", {"public"}}},
                           {"auth.users", "auth.sessions", "orders"});
  ASSERT_EQ(passes.size(), 3u);
  EXPECT_EQ(passes[0].system, "authentication");
  // Special entries, the schema, the table, its sequence, default, data, sequence value, key.
  EXPECT_THAT(Ids(passes[0]), ElementsAre(3379, 3380, 3381, 6, 216, 215, 3213, 3372, 3388, 3220));
  EXPECT_THAT(passes[0].tables, ElementsAre("auth.users"));
  EXPECT_EQ(passes[1].system, "core");
  // The public FK to auth.users can go now: users_pkey is restored.
  EXPECT_THAT(Ids(passes[1]), ElementsAre(3379, 3380, 3381, 222, 220, 221, 3376, 3225, 3227));
  EXPECT_THAT(passes[1].tables, ElementsAre("public.orders"));
  EXPECT_EQ(passes[2].system, "");
  EXPECT_THAT(Ids(passes[2]), ElementsAre(3379, 3380, 3381, 218, 217, 3384, 3214, 3374, 3222, 3223, 3226));
  EXPECT_THAT(passes[2].tables, ElementsAre("auth.sessions"));
}

TEST(PlanPasses, ForeignKeyWaitsForTheTableItReferences) {
  auto toc = ParseToc(kListing);
  // orders first: its FK to auth.users must wait for the pass restoring users.
  auto passes = PlanPasses(toc, {{"core", {"public.orders"}}, {"authentication", {"auth"}}}, {});
  ASSERT_EQ(passes.size(), 3u);  // the function and the view no system covers come last
  EXPECT_THAT(Ids(passes[0]), ElementsAre(3379, 3380, 3381, 220, 3376, 3225));
  auto auth = Ids(passes[1]);
  EXPECT_NE(std::find(auth.begin(), auth.end(), 3227), auth.end());
  EXPECT_NE(std::find(auth.begin(), auth.end(), 3226), auth.end());
  EXPECT_THAT(passes[0].tables, ElementsAre("public.orders"));
}

TEST(PlanPasses, EveryEntryRestoredExactlyOnce) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {{"authentication", {"auth.sessions"}}}, {});
  std::multiset<int> seen;
  for (const auto& p : passes) {
    for (int id : Ids(p)) {
      if (id < 3379 || id > 3381) seen.insert(id);
    }
  }
  EXPECT_EQ(seen.size(), toc.size() - 3);
  for (const auto& e : toc) {
    if (e.id < 3379 || e.id > 3381) EXPECT_EQ(seen.count(e.id), 1u) << e.line;
  }
}

TEST(PlanPasses, NoSystemsIsOneFullPass) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {}, {"auth.users"});
  ASSERT_EQ(passes.size(), 1u);
  EXPECT_EQ(passes[0].list.size(), toc.size());
  EXPECT_THAT(passes[0].tables, ElementsAre("auth.users"));
}

TEST(PlanPasses, ACoveredTableMissingFromTheDumpIsStillVerified) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {{"billing", {"billing.invoices"}}}, {});
  ASSERT_GE(passes.size(), 1u);
  EXPECT_EQ(passes[0].system, "billing");
  EXPECT_TRUE(passes[0].list.empty());
  EXPECT_THAT(passes[0].tables, ElementsAre("billing.invoices"));
}

// The listing of tests/testdata/supabase/fixture.sql's dump: a range-
// partitioned audit log with its primary key on the parent, partitions from
// MINVALUE to MAXVALUE, an inheritance child, foreign keys across schemas.
std::vector<TocEntry> SupabaseToc() {
  std::ifstream in(std::string(DRWATCH_TESTDATA_DIR) + "/supabase/fixture.toc");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseToc(text);
}

const std::vector<SystemCover> kSupabaseSystems = {
    {"authentication", {"auth"}},
    {"core_business_logic", {"public.audit_logs", "public.posts", "storage"}},
    {"analytics_reporting", {"public.published_posts"}}};

const TocEntry& Entry(const std::vector<TocEntry>& toc, const std::string& desc, const std::string& tag) {
  for (const auto& e : toc) {
    if (e.desc == desc && e.tag == tag) return e;
  }
  throw std::runtime_error("no " + desc + " " + tag);
}

// Position of each entry in restore order: (pass, line).
std::map<int, std::pair<std::size_t, std::size_t>> RestoreOrder(const std::vector<RestorePass>& passes) {
  std::map<int, std::pair<std::size_t, std::size_t>> at;
  for (std::size_t p = 0; p < passes.size(); ++p) {
    auto ids = Ids(passes[p]);
    for (std::size_t i = 0; i < ids.size(); ++i) at.emplace(ids[i], std::make_pair(p, i));
  }
  return at;
}

TEST(PlanPasses, EveryEntryOfAPartitionedSchemaComesAfterWhatItDependsOn) {
  auto toc = SupabaseToc();
  ASSERT_GT(toc.size(), 100u);
  auto at = RestoreOrder(PlanPasses(toc, kSupabaseSystems, {}));
  for (const auto& e : toc) {
    ASSERT_TRUE(at.contains(e.id)) << "never restored: " << e.line;
    for (int dep : e.deps) {
      if (at.contains(dep)) EXPECT_LT(at[dep], at[e.id]) << e.line << " before its dependency " << dep;
    }
  }
}

TEST(PlanPasses, APartitionIsAttachedBeforeItsIndexIs) {
  // pg_dump states no dependency of an INDEX ATTACH on the TABLE ATTACH of its
  // partition; restored the other way round, ALTER INDEX … ATTACH PARTITION fails.
  auto toc = SupabaseToc();
  auto at = RestoreOrder(PlanPasses(toc, kSupabaseSystems, {}));
  for (const char* partition : {"audit_logs_history", "audit_logs_2026", "audit_logs_future"}) {
    int table_attach = Entry(toc, "TABLE ATTACH", partition).id;
    int index_attach = Entry(toc, "INDEX ATTACH", std::string(partition) + "_pkey").id;
    EXPECT_LT(at[table_attach], at[index_attach]) << partition;
  }
}

TEST(PlanPasses, ASystemCoveringAPartitionedTableCoversItsPartitionsAndInheritanceChildren) {
  auto toc = SupabaseToc();
  auto passes = PlanPasses(toc, {{"core", {"public.audit_logs", "public.comments"}}},
                           {"public.audit_logs", "public.audit_logs_future", "public.flagged_comments"});
  ASSERT_GE(passes.size(), 1u);
  auto ids = Ids(passes[0]);
  for (const auto& [desc, tag] : std::vector<std::pair<std::string, std::string>>{
           {"TABLE DATA", "audit_logs_future"}, {"TABLE ATTACH", "audit_logs_future"},
           {"INDEX ATTACH", "audit_logs_future_pkey"}, {"TABLE DATA", "flagged_comments"}}) {
    EXPECT_THAT(ids, ::testing::Contains(Entry(toc, desc, tag).id)) << desc << " " << tag;
  }
  EXPECT_THAT(passes[0].tables, ElementsAre("public.audit_logs", "public.audit_logs_future",
                                            "public.flagged_comments", "public.comments"));
}

TEST(Qualified, DefaultsToPublic) {
  EXPECT_EQ(Qualified("orders"), "public.orders");
  EXPECT_EQ(Qualified("auth.users"), "auth.users");
}

}  // namespace
}  // namespace drwatch::restore
