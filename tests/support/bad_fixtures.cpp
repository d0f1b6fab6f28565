#include "support/bad_fixtures.hpp"

#include <string_view>

#include "catalogue/catalogue.hpp"

namespace drwatch::test {

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.file; }

std::string TestDataPath(const std::string& name) { return std::string(DRWATCH_TESTDATA_DIR) + "/" + name; }

void ExpectRefused(const BadCase& c) {
  std::string path = TestDataPath(c.file);
  std::vector<std::string> expected;
  for (const auto& e : c.errors) expected.push_back(path + e);
  catalogue::LoadResult result = catalogue::LoadCatalogueFile(path);
  EXPECT_EQ(result.catalogue, nullptr);
  EXPECT_EQ(result.errors, expected);
}

std::string BadCaseName(const testing::TestParamInfo<BadCase>& info) {
  return info.param.file.substr(0, info.param.file.find('.'));
}

std::string BadCaseShortName(const testing::TestParamInfo<BadCase>& info) {
  std::string name = BadCaseName(info);
  constexpr std::string_view kPrefix = "bad_";
  if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
  return name;
}

}  // namespace drwatch::test
