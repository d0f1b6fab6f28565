#include "catalogue/catalogue.hpp"

#include "catalogue/loader.hpp"
#include "config/expand.hpp"

#include <sstream>

#include <yaml-cpp/eventhandler.h>

namespace drwatch::catalogue {
namespace {

using config::Diagnostics;

// Counts the documents of `text` without building them, stopping at the
// second. yaml-cpp 0.7's LoadAll never returns on some invalid text (a stray
// ',' outside any collection): its parser hands back an empty document at
// the same place forever, allocating until the process dies (found by the
// catalogue fuzzer). A document that starts where the previous one did is
// that case, reported as invalid YAML at the place the parser is stuck.
class DocumentCounter : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Parses the single document of the catalogue, or reports why not.
std::optional<YAML::Node> ParseDocument(const std::string& text, Diagnostics& diag) {
  YAML::Node root;
  try {
    std::istringstream input(text);
    YAML::Parser parser(input);
    DocumentCounter counter;
    while (counter.starts.size() < 2 && parser.HandleNextDocument(counter)) {
      const auto& starts = counter.starts;
      if (starts.size() == 2 && starts[1].pos == starts[0].pos) {
        diag.Error(starts[1], "", "invalid YAML: unexpected text here (outside any mapping or list)");
        return std::nullopt;
      }
    }
    if (counter.starts.empty()) {
      diag.Error(YAML::Mark(), "", "the catalogue is empty");
      return std::nullopt;
    }
    if (counter.starts.size() > 1) {
      diag.Error(counter.starts[1], "", "a second YAML document (a catalogue is one document)");
      return std::nullopt;
    }
    root = YAML::Load(text);  // the first (and only) document
  } catch (const YAML::Exception& e) {
    diag.Error(e.mark, "", "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  if (!root.IsMap()) {
    diag.Error(root.Mark(), "",
               "expected a mapping at the top level (global, targets, objectives, checks)");
    return std::nullopt;
  }
  return root;
}

}  // namespace

LoadResult LoadCatalogueText(const std::string& text, const std::string& file) {
  Diagnostics diag;
  diag.file = file;
  auto catalogue = std::make_shared<Catalogue>();
  catalogue->file = file;
  if (auto root = ParseDocument(text, diag)) detail::Loader(*catalogue, diag).Load(*root);
  // Secrets found late (a later target's password) may appear in earlier messages.
  diag.Redact();
  diag.SortByPosition();
  if (!diag.ok()) return LoadResult{nullptr, std::move(diag.errors)};
  return LoadResult{std::move(catalogue), {}};
}

LoadResult LoadCatalogueFile(const std::string& path) {
  std::string reason;
  auto text = config::ReadWholeFile(path, reason);
  if (!text) return LoadResult{nullptr, {path + ": cannot read: " + reason}};
  return LoadCatalogueText(*text, path);
}

}  // namespace drwatch::catalogue
