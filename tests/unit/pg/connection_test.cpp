// The pure functions of pg/connection: query wrapping and DSN inspection.

#include "pg/connection.hpp"

#include <gtest/gtest.h>

namespace drwatch::pg {
namespace {

using namespace std::chrono_literals;

TEST(WrapReadOnly, ExactString) {
  EXPECT_EQ(WrapReadOnly("SELECT 1", 2500ms),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = '2500ms'; SET LOCAL row_security = off; SELECT 1; COMMIT");
}

TEST(WrapReadOnly, DropsTrailingSemicolonsAndWhiteSpace) {
  EXPECT_EQ(WrapReadOnly("  SELECT max(created_at) FROM t ;\n ;\t\n", 10s),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = '10000ms'; SET LOCAL row_security = off;   SELECT max(created_at) FROM t; COMMIT");
}

TEST(WrapReadOnly, ZeroTimeoutStillBoundsTheStatement) {
  // statement_timeout = 0 would disable the limit.
  EXPECT_EQ(WrapReadOnly("SELECT 1", 0ms),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = '1ms'; SET LOCAL row_security = off; SELECT 1; COMMIT");
}

TEST(WrapReadOnly, ATrailingCommentCannotSwallowCommit) {
  EXPECT_EQ(WrapReadOnly("SELECT 1 -- the answer\n;", 1000ms),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = '1000ms'; SET LOCAL row_security = off; SELECT 1 -- the answer\n; COMMIT");
}

TEST(TrimQuery, DropsOnlyTrailingSemicolonsAndWhiteSpace) {
  EXPECT_EQ(TrimQuery("SELECT 1"), "SELECT 1");
  EXPECT_EQ(TrimQuery("SELECT 1;"), "SELECT 1");
  EXPECT_EQ(TrimQuery("SELECT 1 ; ;\r\n\t "), "SELECT 1");
  EXPECT_EQ(TrimQuery("  SELECT ';'"), "  SELECT ';'");
  EXPECT_EQ(TrimQuery(" ;; \n"), "");
  EXPECT_EQ(TrimQuery(""), "");
}

TEST(PasswordOf, KeyValueForm) {
  EXPECT_EQ(PasswordOf("host=db user=app password=s3cret-pw dbname=app"), "s3cret-pw");
}

TEST(PasswordOf, QuotedValue) {
  EXPECT_EQ(PasswordOf(R"(host=db password='it\'s a secret')"), "it's a secret");
}

TEST(PasswordOf, UriFormIsDecoded) {
  EXPECT_EQ(PasswordOf("postgresql://app:p%40ss-word@db:5432/app"), "p@ss-word");
}

TEST(PasswordOf, NoneWhenAbsentEmptyOrUnparsable) {
  EXPECT_EQ(PasswordOf("host=db user=app"), std::nullopt);
  EXPECT_EQ(PasswordOf("host=db password=''"), std::nullopt);
  EXPECT_EQ(PasswordOf("host=db password='unterminated"), std::nullopt);
  EXPECT_EQ(PasswordOf("postgresql://app@db/app"), std::nullopt);
}

TEST(ValidateConninfo, AcceptsKeyValueUriAndEmpty) {
  EXPECT_EQ(ValidateConninfo("host=db port=5432 dbname=app user=app password=x sslmode=require"), "");
  EXPECT_EQ(ValidateConninfo("postgresql://app:pw@db:5432/app?sslmode=require&application_name=x"), "");
  EXPECT_EQ(ValidateConninfo("postgres://db"), "");
  EXPECT_EQ(ValidateConninfo(""), "");
}

// Each rejected string has the secret "hunter2" in it; libpq's own messages
// would echo it for several of these.
struct BadDsn {
  const char* dsn;
  const char* message;
};

class ValidateConninfoRejects : public ::testing::TestWithParam<BadDsn> {};

TEST_P(ValidateConninfoRejects, WithAMessageThatDoesNotEchoTheString) {
  std::string error = ValidateConninfo(GetParam().dsn);
  EXPECT_EQ(error, GetParam().message);
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateConninfoRejects,
    ::testing::Values(
        BadDsn{"host=db hunter2", R"(missing "=" after a keyword)"},
        BadDsn{"host=db hunter2=x", "invalid connection option (not a libpq keyword)"},
        BadDsn{"host=db password='hunter2", "unterminated quoted string in connection info string"},
        BadDsn{"postgresql://u:hunter2@[::1/db",
               R"(end of string reached when looking for matching "]" in IPv6 host address in URI)"},
        BadDsn{"postgresql://u:hunter2@[]/db", "IPv6 host address may not be empty in URI"},
        BadDsn{"postgresql://u:hunter2@[::1]x/db", "unexpected character in URI"},
        BadDsn{"postgresql://u:hunter2%zz@db/app", "invalid percent-encoded token"},
        BadDsn{"postgresql://u:hunter2%00@db/app", "forbidden value %00 in percent-encoded value"},
        BadDsn{"postgresql://db/app?hunter2", R"(missing key/value separator "=" in URI query parameter)"},
        BadDsn{"postgresql://db/app?hunter2=a=b", R"(extra key/value separator "=" in URI query parameter)"},
        BadDsn{"postgresql://db/app?hunter2=x", "invalid URI query parameter"}));

TEST(ValidateConninfo, BareDatabaseNameIsNotAConnectionString) {
  EXPECT_EQ(ValidateConninfo("appdb"), R"(missing "=" after a keyword)");
}

}  // namespace
}  // namespace drwatch::pg
