#include "config/expand.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace drwatch::config {
namespace {

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char pattern[] = "/tmp/drwatch_expand_XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/secret";
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

TEST(Expand, LeavesPlainTextAlone) {
  Expansion e = Expand("host=db port=5432 cost=$5 $$ $");
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.value, "host=db port=5432 cost=$5 $$ $");
  EXPECT_TRUE(e.secrets.empty());
}

TEST(Expand, SubstitutesEnvironmentVariables) {
  setenv("DRWATCH_TEST_EXPAND_USER", "alice_user", 1);
  setenv("DRWATCH_TEST_EXPAND_PASS", "alice_pass", 1);
  Expansion e = Expand("user=${env:DRWATCH_TEST_EXPAND_USER} password=${env:DRWATCH_TEST_EXPAND_PASS}");
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.value, "user=alice_user password=alice_pass");
  EXPECT_EQ(e.secrets, (std::vector<std::string>{"alice_user", "alice_pass"}));
}

TEST(Expand, SubstitutesAnEmptyVariable) {
  setenv("DRWATCH_TEST_EXPAND_EMPTY", "", 1);
  Expansion e = Expand("a${env:DRWATCH_TEST_EXPAND_EMPTY}b");
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.value, "ab");
}

TEST(Expand, SubstitutesFileContentWithoutOneTrailingNewline) {
  TempFile one("s3cr3t\n");
  EXPECT_EQ(Expand("${file:" + one.path() + "}").value, "s3cr3t");
  TempFile two("s3cr3t\n\n");
  EXPECT_EQ(Expand("${file:" + two.path() + "}").value, "s3cr3t\n");
  TempFile crlf("s3cr3t\r\n");
  EXPECT_EQ(Expand("${file:" + crlf.path() + "}").value, "s3cr3t");
  TempFile none("s3cr3t");
  Expansion e = Expand("pw=${file:" + none.path() + "};");
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.value, "pw=s3cr3t;");
  EXPECT_EQ(e.secrets, std::vector<std::string>{"s3cr3t"});
}

TEST(Expand, DoubleDollarIsALiteral) {
  Expansion e = Expand("$${env:HOME} and $${");
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.value, "${env:HOME} and ${");
  EXPECT_TRUE(e.secrets.empty());
}

TEST(Expand, SubstitutedValuesAreNotExpandedAgain) {
  setenv("DRWATCH_TEST_EXPAND_NESTED", "${env:HOME}", 1);
  EXPECT_EQ(Expand("${env:DRWATCH_TEST_EXPAND_NESTED}").value, "${env:HOME}");
}

TEST(Expand, ReportsAnUnsetVariable) {
  unsetenv("DRWATCH_TEST_EXPAND_UNSET");
  EXPECT_EQ(Expand("x${env:DRWATCH_TEST_EXPAND_UNSET}").error,
            "environment variable DRWATCH_TEST_EXPAND_UNSET is not set");
}

TEST(Expand, ReportsAnInvalidVariableName) {
  EXPECT_EQ(Expand("${env:1X}").error, "invalid environment variable name \"1X\" in ${env:1X}");
  EXPECT_EQ(Expand("${env:}").error, "invalid environment variable name \"\" in ${env:}");
}

TEST(Expand, ReportsAnUnreadableFile) {
  EXPECT_EQ(Expand("${file:/nonexistent/drwatch/x}").error,
            "cannot read file /nonexistent/drwatch/x: No such file or directory");
  EXPECT_EQ(Expand("${file:/}").error, "cannot read file /: Is a directory");
  EXPECT_EQ(Expand("${file:}").error, "empty path in ${file:}");
}

TEST(Expand, ReportsAnUnterminatedExpansion) {
  EXPECT_EQ(Expand("host=${env:DB_HOST").error, "unterminated \"${\" (write \"$${\" for a literal \"${\")");
}

TEST(Expand, ReportsAnUnknownExpansion) {
  EXPECT_EQ(Expand("${foo:bar}").error, "unknown expansion ${foo:bar} (use ${env:NAME} or ${file:PATH})");
  EXPECT_EQ(Expand("${HOME}").error, "unknown expansion ${HOME} (use ${env:NAME} or ${file:PATH})");
}

TEST(ReadWholeFile, ReadsEverythingOrSaysWhy) {
  TempFile file("line1\nline2\n");
  std::string reason;
  EXPECT_EQ(ReadWholeFile(file.path(), reason), "line1\nline2\n");
  EXPECT_EQ(ReadWholeFile("/nonexistent/drwatch/x", reason), std::nullopt);
  EXPECT_EQ(reason, "No such file or directory");
}

}  // namespace
}  // namespace drwatch::config
