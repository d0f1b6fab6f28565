#include "restore/schema_text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace drwatch::restore {
namespace {

using ::testing::HasSubstr;

constexpr char kDumpA[] = R"(--
-- PostgreSQL database dump
--

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
\restrict abc123

--
-- Name: auth; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA auth;


ALTER SCHEMA auth OWNER TO postgres;

--
-- Name: users; Type: TABLE; Schema: auth; Owner: postgres
--

CREATE TABLE auth.users (
    id integer NOT NULL,   
    email text
);

\unrestrict abc123
)";

// The same schema from another pg_dump version, objects in another order.
constexpr char kDumpB[] = R"(--
-- Dumped from database version 15.19
--
SET statement_timeout = 0;
SET lock_timeout = 0;
\restrict zzz999

CREATE TABLE auth.users (
    id integer NOT NULL,
    email text
);

ALTER SCHEMA auth OWNER TO postgres;

CREATE SCHEMA auth;
)";

TEST(NormaliseSchema, DropsBannersSettingsAndOrder) {
  EXPECT_EQ(NormaliseSchema(kDumpA), NormaliseSchema(kDumpB));
  std::string n = NormaliseSchema(kDumpA);
  EXPECT_THAT(n, ::testing::Not(HasSubstr("--")));
  EXPECT_THAT(n, ::testing::Not(HasSubstr("SET ")));
  EXPECT_THAT(n, ::testing::Not(HasSubstr("restrict")));
  EXPECT_THAT(n, HasSubstr("CREATE TABLE auth.users (\n    id integer NOT NULL,\n    email text\n);\n"));
}

TEST(NormaliseSchema, KeepsRealChanges) {
  std::string altered = kDumpA;
  altered.replace(altered.find("    email text"), 14, "    email text,\n    phone text");
  EXPECT_NE(NormaliseSchema(kDumpA), NormaliseSchema(altered));
}

TEST(NormaliseSchema, EmptyInputIsEmpty) {
  EXPECT_EQ(NormaliseSchema(""), "");
  EXPECT_EQ(NormaliseSchema("--\n-- x\n\nSET a = 1;\n\n"), "");
}

TEST(UnifiedDiff, IdenticalTextHasNoDiff) {
  auto d = UnifiedDiff("a\nb\n", "a\nb\n", "x", "y");
  EXPECT_EQ(d.changed, 0u);
  EXPECT_EQ(d.text, "");
}

TEST(UnifiedDiff, OneChangedLineWithContext) {
  std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  std::string after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
  auto d = UnifiedDiff(before, after, "backup", "live");
  EXPECT_EQ(d.changed, 2u);
  EXPECT_EQ(d.text,
            "--- backup\n+++ live\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

TEST(UnifiedDiff, AddedAndRemovedLines) {
  auto d = UnifiedDiff("a\nb\nc\n", "a\nc\nd\n", "x", "y");
  EXPECT_EQ(d.changed, 2u);
  EXPECT_EQ(d.text, "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n c\n+d\n");
}

TEST(UnifiedDiff, DistantChangesMakeTwoHunks) {
  std::string before, after;
  for (int i = 0; i < 30; ++i) {
    before += std::to_string(i) + "\n";
    after += (i == 2 || i == 25 ? "x" : std::to_string(i)) + "\n";
  }
  auto d = UnifiedDiff(before, after, "x", "y");
  EXPECT_EQ(d.changed, 4u);
  EXPECT_THAT(d.text, HasSubstr("@@ -1,6 +1,6 @@"));
  EXPECT_THAT(d.text, HasSubstr("@@ -23,7 +23,7 @@"));
}

TEST(UnifiedDiff, OutputIsBounded) {
  std::string before, after;
  for (int i = 0; i < 500; ++i) after += "new line " + std::to_string(i) + "\n";
  auto d = UnifiedDiff(before, after, "x", "y", 100);
  EXPECT_EQ(d.changed, 500u);
  EXPECT_EQ(std::count(d.text.begin(), d.text.end(), '\n'), 101);
  EXPECT_THAT(d.text, HasSubstr("… 403 more lines"));
}

TEST(UnifiedDiff, HugeInputsFallBackToReplacement) {
  std::string before, after;
  for (int i = 0; i < 3000; ++i) {
    before += "a" + std::to_string(i) + "\n";
    after += "b" + std::to_string(i) + "\n";
  }
  auto d = UnifiedDiff(before, after, "x", "y", 10);  // 9 M cells: over the bound
  EXPECT_EQ(d.changed, 6000u);
}

}  // namespace
}  // namespace drwatch::restore
