#include "config/expand.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

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
    std::filesystem::permissions(path_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
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

// Like ssh with a private key: a secret any user can read is refused, with
// the command that fixes it. Group-readable is allowed (a service group).
TEST(Expand, RefusesASecretFileEveryUserCanReadOrWrite) {
  namespace fs = std::filesystem;
  TempFile file("s3cr3t\n");
  fs::permissions(file.path(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                   fs::perms::others_read);
  Expansion e = Expand("pw=${file:" + file.path() + "}");
  EXPECT_EQ(e.error, "secret file " + file.path() + " is readable by every user (mode 0644): run chmod 600 " +
                         file.path() + " (or chmod o-rw " + file.path() + ")");
  EXPECT_EQ(e.error.find("s3cr3t"), std::string::npos);
  fs::permissions(file.path(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_write);
  EXPECT_EQ(Expand("${file:" + file.path() + "}").error,
            "secret file " + file.path() + " is writable by every user (mode 0602): run chmod 600 " + file.path() +
                " (or chmod o-rw " + file.path() + ")");
  fs::permissions(file.path(), fs::perms::owner_read | fs::perms::group_read);
  EXPECT_EQ(Expand("${file:" + file.path() + "}").value, "s3cr3t");
}

TEST(Expand, ReportsAnUnreadableFile) {
  EXPECT_EQ(Expand("${file:/nonexistent/drwatch/x}").error,
            "cannot read file /nonexistent/drwatch/x: No such file or directory");
  EXPECT_EQ(Expand("${file:/}").error, "cannot read file /: Is a directory");
  EXPECT_EQ(Expand("${file:}").error, "empty path in ${file:}");
  // Neither a device that never ends nor a FIFO nobody writes to can hang or
  // grow the loader (found by catalogue_fuzz's review, not a crash).
  EXPECT_EQ(Expand("${file:/dev/zero}").error, "cannot read file /dev/zero: not a regular file");
  std::string fifo = ::testing::TempDir() + "/drwatch_expand_fifo";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(Expand("${file:" + fifo + "}").error, "cannot read file " + fifo + ": not a regular file");
  ::unlink(fifo.c_str());
}

TEST(Expand, ReportsAnUnterminatedExpansion) {
  EXPECT_EQ(Expand("host=${env:DB_HOST").error, "unterminated \"${\" (write \"$${\" for a literal \"${\")");
}

TEST(Expand, ReportsAnUnknownExpansion) {
  EXPECT_EQ(Expand("${foo:bar}").error, "unknown expansion ${foo:bar} (use ${env:NAME}, ${file:PATH} or ${cred:NAME})");
  EXPECT_EQ(Expand("${HOME}").error, "unknown expansion ${HOME} (use ${env:NAME}, ${file:PATH} or ${cred:NAME})");
  EXPECT_EQ(Expand("${credential:x}").error,
            "unknown expansion ${credential:x} (use ${env:NAME}, ${file:PATH} or ${cred:NAME})");
}

// Sets $CREDENTIALS_DIRECTORY (or unsets it) for one test and restores it.
class CredentialsDirectory {
 public:
  explicit CredentialsDirectory(const char* dir) {
    if (const char* old = std::getenv("CREDENTIALS_DIRECTORY")) old_ = old;
    if (dir != nullptr) {
      setenv("CREDENTIALS_DIRECTORY", dir, 1);
    } else {
      unsetenv("CREDENTIALS_DIRECTORY");
    }
  }
  ~CredentialsDirectory() {
    if (old_) {
      setenv("CREDENTIALS_DIRECTORY", old_->c_str(), 1);
    } else {
      unsetenv("CREDENTIALS_DIRECTORY");
    }
  }

 private:
  std::optional<std::string> old_;
};

std::string DirOf(const TempFile& file) { return std::filesystem::path(file.path()).parent_path().string(); }

TEST(ExpandCredential, SubstitutesTheCredentialWithoutOneTrailingNewline) {
  TempFile file("host=db password=s3cr3t\n");  // TempFile names it "secret"
  CredentialsDirectory env(DirOf(file).c_str());
  Expansion e = Expand("dsn=${cred:secret};");
  EXPECT_EQ(e.error, "");
  EXPECT_EQ(e.value, "dsn=host=db password=s3cr3t;");
  EXPECT_EQ(e.secrets, std::vector<std::string>{"host=db password=s3cr3t"});
}

TEST(ExpandCredential, StripsOnlyOneNewline) {
  TempFile two("s3cr3t\n\n");
  CredentialsDirectory env(DirOf(two).c_str());
  EXPECT_EQ(Expand("${cred:secret}").value, "s3cr3t\n");
}

TEST(ExpandCredential, StripsACrLf) {
  TempFile crlf("s3cr3t\r\n");
  CredentialsDirectory env(DirOf(crlf).c_str());
  EXPECT_EQ(Expand("${cred:secret}").value, "s3cr3t");
}

TEST(ExpandCredential, KeepsContentWithoutNewline) {
  TempFile none("s3cr3t");
  CredentialsDirectory env(DirOf(none).c_str());
  EXPECT_EQ(Expand("${cred:secret}").value, "s3cr3t");
}

TEST(ExpandCredential, ReportsAnUnsetCredentialsDirectory) {
  CredentialsDirectory env(nullptr);
  EXPECT_EQ(Expand("${cred:prmcms_dsn}").error,
            "credential prmcms_dsn: $CREDENTIALS_DIRECTORY is not set (run under systemd with "
            "LoadCredential=prmcms_dsn:/path, or use ${file:PATH})");
}

TEST(ExpandCredential, ReportsAMissingCredential) {
  TempFile file("x");
  CredentialsDirectory env(DirOf(file).c_str());
  EXPECT_EQ(Expand("${cred:prmcms_dsn}").error,
            "cannot read credential prmcms_dsn (" + DirOf(file) + "/prmcms_dsn): No such file or directory");
}

TEST(ExpandCredential, ReportsAMissingDirectory) {
  CredentialsDirectory env("/nonexistent/drwatch/creds");
  EXPECT_EQ(Expand("${cred:prmcms_dsn}").error,
            "cannot read credential prmcms_dsn (/nonexistent/drwatch/creds/prmcms_dsn): No such file or directory");
}

TEST(ExpandCredential, ReportsADirectoryAsCredential) {
  TempFile file("x");
  std::filesystem::create_directory(DirOf(file) + "/sub");
  CredentialsDirectory env(DirOf(file).c_str());
  EXPECT_EQ(Expand("${cred:sub}").error, "cannot read credential sub (" + DirOf(file) + "/sub): Is a directory");
}

TEST(ExpandCredential, ReportsAnInvalidName) {
  // Checked before $CREDENTIALS_DIRECTORY, so the message is the same either way.
  CredentialsDirectory env("/tmp");
  EXPECT_EQ(Expand("${cred:}").error, "invalid credential name \"\" in ${cred:}");
  EXPECT_EQ(Expand("${cred:.}").error, "invalid credential name \".\" in ${cred:.}");
  EXPECT_EQ(Expand("${cred:..}").error, "invalid credential name \"..\" in ${cred:..}");
  EXPECT_EQ(Expand("${cred:../etc/passwd}").error,
            "invalid credential name \"../etc/passwd\" in ${cred:../etc/passwd}");
  EXPECT_EQ(Expand("${cred:a/b}").error, "invalid credential name \"a/b\" in ${cred:a/b}");
  EXPECT_EQ(Expand("${cred:/etc/passwd}").error, "invalid credential name \"/etc/passwd\" in ${cred:/etc/passwd}");
}

TEST(ExpandCredential, ReportsAnInvalidNameWithoutCredentialsDirectory) {
  CredentialsDirectory env(nullptr);
  EXPECT_EQ(Expand("${cred:a/b}").error, "invalid credential name \"a/b\" in ${cred:a/b}");
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
