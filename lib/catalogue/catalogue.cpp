#include "catalogue/catalogue.hpp"

#include "catalogue/loader.hpp"
#include "config/expand.hpp"

namespace drwatch::catalogue {
namespace {

using config::Diagnostics;

// Parses the single document of the catalogue, or reports why not.
std::optional<YAML::Node> ParseDocument(const std::string& text, Diagnostics& diag) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    diag.Error(e.mark, "", "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  if (docs.empty()) {
    diag.Error(YAML::Mark(), "", "the catalogue is empty");
    return std::nullopt;
  }
  if (docs.size() > 1) {
    diag.Error(docs[1].Mark(), "", "a second YAML document (a catalogue is one document)");
    return std::nullopt;
  }
  if (!docs[0].IsMap()) {
    diag.Error(docs[0].Mark(), "",
               "expected a mapping at the top level (global, targets, objectives, checks)");
    return std::nullopt;
  }
  return docs[0];
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
