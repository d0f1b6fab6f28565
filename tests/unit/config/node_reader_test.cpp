#include "config/node_reader.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/redact.hpp"

namespace drwatch::config {
namespace {

Diagnostics Diag() {
  Diagnostics diag;
  diag.file = "f.yml";
  return diag;
}

// A reader over `text` (one YAML mapping) named "f.yml", path "a".
struct Fixture {
  explicit Fixture(const std::string& text, std::string path = "a")
      : diag(Diag()), reader(YAML::Load(text), std::move(path), diag) {}
  Diagnostics diag;
  NodeReader reader;
};

using Errors = std::vector<std::string>;

TEST(Diagnostics, FormatsFileLineColumnPathMessage) {
  Diagnostics diag = Diag();
  YAML::Node node = YAML::Load("a:\n  b: 1\n");
  diag.Error(node["a"]["b"].Mark(), "a.b", "bad");
  diag.Error(node.Mark(), "", "no path");
  diag.Error(YAML::Mark::null_mark(), "x", "no mark");
  EXPECT_EQ(diag.errors, (Errors{"f.yml:2:6: a.b: bad", "f.yml:1:1: no path", "f.yml: x: no mark"}));
  EXPECT_FALSE(diag.ok());
}

TEST(Diagnostics, RedactsSecrets) {
  Redactor::Global().Add("diag-secret-123");
  Diagnostics diag = Diag();
  diag.Error(YAML::Mark(), "k", "value diag-secret-123 is wrong");
  EXPECT_EQ(diag.errors, Errors{"f.yml:1:1: k: value <redacted> is wrong"});
}

TEST(Diagnostics, SortsByPositionStably) {
  Diagnostics diag = Diag();
  YAML::Node node = YAML::Load("a: 1\nb: 2\n");
  diag.Error(node["b"].Mark(), "b", "second");
  diag.Error(node["a"].Mark(), "a", "first");
  diag.Error(node["b"].Mark(), "b", "third");
  diag.SortByPosition();
  EXPECT_EQ(diag.errors, (Errors{"f.yml:1:4: a: first", "f.yml:2:4: b: second", "f.yml:2:4: b: third"}));
}

TEST(NodeReader, RejectsANonMapping) {
  Fixture f("[1, 2]");
  EXPECT_FALSE(f.reader.valid());
  EXPECT_EQ(f.reader.String("x", true), std::nullopt);
  f.reader.Finish();
  EXPECT_EQ(f.diag.errors, Errors{"f.yml:1:1: a: expected a mapping"});
}

TEST(NodeReader, ReadsStrings) {
  Fixture f("name: db\nport: 5432\n");
  EXPECT_EQ(f.reader.String("name"), "db");
  EXPECT_EQ(f.reader.String("port"), "5432");
  EXPECT_EQ(f.reader.String("absent"), std::nullopt);
  EXPECT_TRUE(f.diag.ok());
}

TEST(NodeReader, ReportsMissingRequiredKeyAtTheMapping) {
  Fixture f("x: 1\ny: 2\n");
  EXPECT_EQ(f.reader.String("dsn", true), std::nullopt);
  EXPECT_EQ(f.diag.errors, Errors{"f.yml:1:1: a.dsn: missing required key"});
}

TEST(NodeReader, ReportsWrongTypesAtTheValue) {
  Fixture f("s: [1]\nd: {x: 1}\nm: 3\nl: x\nml: x\ni: abc\nb: yes\nsl: [a, [b]]\n");
  EXPECT_EQ(f.reader.String("s"), std::nullopt);
  EXPECT_EQ(f.reader.DurationValue("d"), std::nullopt);
  EXPECT_FALSE(f.reader.Map("m"));
  EXPECT_EQ(f.reader.StringList("l"), std::nullopt);
  EXPECT_FALSE(f.reader.MapList("ml"));
  EXPECT_EQ(f.reader.Int("i", 1, 10), std::nullopt);
  EXPECT_EQ(f.reader.Bool("b"), std::nullopt);
  EXPECT_EQ(f.reader.StringList("sl"), std::nullopt);
  EXPECT_EQ(f.diag.errors, (Errors{
                               "f.yml:1:4: a.s: expected a string",
                               "f.yml:2:4: a.d: expected a duration (use e.g. 500ms, 30s, 5m, 1h30m, 7d)",
                               "f.yml:3:4: a.m: expected a mapping",
                               "f.yml:4:4: a.l: expected a list of strings",
                               "f.yml:5:5: a.ml: expected a list",
                               "f.yml:6:4: a.i: expected an integer between 1 and 10",
                               "f.yml:7:4: a.b: expected true or false",
                               "f.yml:8:9: a.sl[1]: expected a string",
                           }));
}

TEST(NodeReader, ReportsAnEmptyValueAtItsKey) {
  Fixture f("name:\n\n\nother: 1\n");
  EXPECT_EQ(f.reader.String("name"), std::nullopt);
  EXPECT_EQ(f.diag.errors, Errors{"f.yml:1:1: a.name: expected a string"});
}

TEST(NodeReader, ReadsDurations) {
  Fixture f("interval: 1h30m\nbad: 30sec\nzero: 0s\n");
  EXPECT_EQ(f.reader.DurationValue("interval"), std::chrono::minutes(90));
  EXPECT_EQ(f.reader.DurationValue("bad"), std::nullopt);
  EXPECT_EQ(f.reader.DurationValue("zero"), std::nullopt);
  EXPECT_EQ(f.diag.errors,
            (Errors{"f.yml:2:6: a.bad: invalid duration \"30sec\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)",
                    "f.yml:3:7: a.zero: invalid duration \"0s\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)"}));
}

TEST(NodeReader, ReadsNumbersWithinRange) {
  Fixture f("i: 42\nbig: 11\nneg: -3\nd: 0.25\ndbig: 2.5\nb: false\n");
  EXPECT_EQ(f.reader.Int("i", 1, 100), 42);
  EXPECT_EQ(f.reader.Int("big", 1, 10), std::nullopt);
  EXPECT_EQ(f.reader.Int("neg", -5, 5), -3);
  EXPECT_EQ(f.reader.Double("d", 0, 1), 0.25);
  EXPECT_EQ(f.reader.Double("dbig", 0, 1.5), std::nullopt);
  EXPECT_EQ(f.reader.Bool("b"), false);
  EXPECT_EQ(f.diag.errors, (Errors{"f.yml:2:6: a.big: expected an integer between 1 and 10",
                                   "f.yml:5:7: a.dbig: expected a number between 0 and 1.5"}));
}

TEST(NodeReader, ReadsStringLists) {
  Fixture f("labels: [slot_name, database]\nempty: []\n");
  EXPECT_EQ(f.reader.StringList("labels"), (std::vector<std::string>{"slot_name", "database"}));
  EXPECT_EQ(f.reader.StringList("empty"), std::vector<std::string>{});
  EXPECT_TRUE(f.diag.ok());
}

TEST(NodeReader, ExpandsAndRegistersSecrets) {
  Redactor::Global().Clear();
  setenv("DRWATCH_TEST_NR_PASSWORD", "nr-password-42", 1);
  Fixture f(
      "dsn: \"password=${env:DRWATCH_TEST_NR_PASSWORD}\"\nlist: [\"${env:DRWATCH_TEST_NR_PASSWORD}\"]\n");
  EXPECT_EQ(f.reader.String("dsn"), "password=nr-password-42");
  EXPECT_EQ(f.reader.StringList("list"), std::vector<std::string>{"nr-password-42"});
  EXPECT_EQ(f.diag.secrets, (std::vector<std::string>{"nr-password-42", "nr-password-42"}));
  EXPECT_EQ(Redactor::Global().Apply("dsn password=nr-password-42"), "dsn password=<redacted>");
}

// Places (a storage url, a directory) from the environment stay readable in
// messages; the same reader still treats String's expansions as secrets.
TEST(NodeReader, PublicStringsAreNotSecrets) {
  Redactor::Global().Clear();
  setenv("DRWATCH_TEST_NR_DIR", "/srv/backups", 1);
  setenv("DRWATCH_TEST_NR_TOKEN", "nr-token-42", 1);
  Fixture f("url: \"file://${env:DRWATCH_TEST_NR_DIR}\"\ntoken: \"${env:DRWATCH_TEST_NR_TOKEN}\"\n");
  EXPECT_EQ(f.reader.PublicString("url"), "file:///srv/backups");
  EXPECT_EQ(f.reader.String("token"), "nr-token-42");
  EXPECT_EQ(f.diag.secrets, std::vector<std::string>{"nr-token-42"});
  EXPECT_EQ(Redactor::Global().Apply("write /srv/backups/x: nr-token-42"), "write /srv/backups/x: <redacted>");
}

TEST(NodeReader, ReportsExpansionErrorsAtTheKeyPath) {
  unsetenv("PRMCMS_DSN_UNSET");
  Fixture f("x: 1\ndsn: \"${env:PRMCMS_DSN_UNSET}\"\n", "targets.primary");
  EXPECT_EQ(f.reader.String("dsn"), std::nullopt);
  EXPECT_EQ(f.diag.errors,
            Errors{"f.yml:2:6: targets.primary.dsn: environment variable PRMCMS_DSN_UNSET is not set"});
}

TEST(NodeReader, ReportsUnknownKeysAtTheKey) {
  Fixture f("interval: 30s\n  # comment\nintervall: 1m\n", "global");
  f.reader.DurationValue("interval");
  f.reader.Finish();
  EXPECT_EQ(f.diag.errors, Errors{"f.yml:3:1: global.intervall: unknown key"});
}

TEST(NodeReader, ConsumeAndKeysMarkKeysAsRead) {
  Fixture f("b: 1\na: 2\nc: 3\n");
  f.reader.Consume("c");
  EXPECT_EQ(f.reader.Keys(), (std::vector<std::string>{"b", "a", "c"}));
  f.reader.Finish();
  EXPECT_TRUE(f.diag.ok());
  EXPECT_TRUE(f.reader.Has("a"));
  EXPECT_FALSE(f.reader.Has("z"));
}

TEST(NodeReader, ReportsDuplicateKeys) {
  Fixture f("name: x\nkind: y\nname: z\n");
  EXPECT_EQ(f.reader.Keys(), (std::vector<std::string>{"name", "kind"}));
  f.reader.Finish();
  EXPECT_EQ(f.diag.errors, Errors{"f.yml:3:1: a.name: duplicate key (first at 1:1)"});
}

TEST(NodeReader, NestsPaths) {
  Fixture f("headers:\n  X-A: v\nchecks:\n  - name: one\n  - 5\n", "t");
  auto headers = f.reader.Map("headers");
  ASSERT_TRUE(headers);
  EXPECT_EQ(headers->path(), "t.headers");
  EXPECT_EQ(headers->PathOf("X-A"), "t.headers.X-A");
  auto checks = f.reader.MapList("checks");
  ASSERT_TRUE(checks);
  ASSERT_EQ(checks->size(), 2u);
  EXPECT_EQ((*checks)[0].path(), "t.checks[0]");
  EXPECT_TRUE((*checks)[0].valid());
  EXPECT_FALSE((*checks)[1].valid());
  EXPECT_EQ(f.diag.errors, Errors{"f.yml:5:5: t.checks[1]: expected a mapping"});
}

TEST(NodeReader, ErrorAndMarkOf) {
  Fixture f("x: 1\nlabels: [check]\n");
  f.reader.Error("labels", "bad label");
  f.reader.Error("", "whole mapping");
  f.reader.Error("absent", "not there");
  EXPECT_EQ(f.diag.errors, (Errors{"f.yml:2:9: a.labels: bad label", "f.yml:1:1: a: whole mapping",
                                   "f.yml:1:1: a.absent: not there"}));
  EXPECT_EQ(f.reader.MarkOf("labels").line, 1);
  EXPECT_EQ(f.reader.MarkOf("labels").column, 0);
}

TEST(NodeReader, FingerprintIsSharedWithChildrenAndRelative) {
  Fixture f("url: u\nheaders:\n  X-A: v\ninterval: 60s\n");
  f.reader.String("url");
  f.reader.Map("headers")->String("X-A");
  f.reader.DurationValue("interval");
  EXPECT_EQ(f.reader.fingerprint(), "url=u\nheaders.X-A=v\ninterval=1m\n");
}

TEST(NodeReader, FingerprintEscapesLineBreaks) {
  Fixture f("q: \"a\\nb=c\"\n");
  f.reader.String("q");
  EXPECT_EQ(f.reader.fingerprint(), "q=a\\nb=c\n");
}

TEST(NodeReader, OwnFingerprintStartsAfresh) {
  Fixture f("checks:\n  - {name: one, max_age: 1h}\n  - {name: two, max_age: 1h}\n");
  auto checks = f.reader.MapList("checks");
  ASSERT_TRUE(checks);
  std::vector<std::string> prints;
  for (auto& check : *checks) {
    check.OwnFingerprint();
    check.DurationValue("max_age");
    prints.push_back(check.fingerprint());
  }
  EXPECT_EQ(prints, (std::vector<std::string>{"max_age=1h\n", "max_age=1h\n"}));
  EXPECT_EQ(f.reader.fingerprint(), "");
}

}  // namespace
}  // namespace drwatch::config
