// The shipped alerting files, read as data: every alert is well-formed
// (severity, annotations, a runbook section that exists), no label carries a
// value, and the promtool tests exercise every alert both firing and silent.
// promtool itself runs the rules in the promtool_* ctests.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "support/grafana_dashboard.hpp"

namespace drwatch::test {
namespace {

const std::string kSource = DRWATCH_SOURCE_DIR;
const std::string kRules = kSource + "/config/alerts/drwatch.rules.yml";

// GitHub's heading anchors: lower case, spaces to '-', other punctuation dropped.
std::string Anchor(const std::string& heading) {
  std::string out;
  for (char c : heading) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') out += static_cast<char>(std::tolower(c));
    else if (c == ' ') out += '-';
  }
  return out;
}

std::set<std::string> RunbookAnchors() {
  std::set<std::string> anchors;
  std::istringstream in(ReadTextFile(kSource + "/docs/runbook.md"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) anchors.insert(Anchor(line.substr(3)));
  }
  return anchors;
}

std::vector<YAML::Node> AlertRules() {
  std::vector<YAML::Node> rules;
  for (const auto& group : YAML::LoadFile(kRules)["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["alert"]) rules.push_back(rule);
    }
  }
  return rules;
}

TEST(AlertRules, TheIssuesAlertsAreAllThere) {
  std::set<std::string> names;
  for (const auto& rule : AlertRules()) names.insert(rule["alert"].as<std::string>());
  for (const char* required : {"DrwatchAuditLogStale", "DrwatchCheckFailing", "DrwatchCheckStale",
                               "DrwatchRPOBreached", "DrwatchRTOBreached", "DrwatchBackupStorageUnreachable",
                               "DrwatchConfigReloadFailed", "DrwatchDown", "DrwatchPitrWindowShort"}) {
    EXPECT_TRUE(names.count(required)) << required;
  }
}

TEST(AlertRules, EveryAlertHasSeverityAnnotationsAndAValueFreeLabelSet) {
  for (const auto& rule : AlertRules()) {
    auto name = rule["alert"].as<std::string>();
    auto severity = rule["labels"]["severity"].as<std::string>("");
    EXPECT_TRUE(severity == "critical" || severity == "warning") << name << ": severity " << severity;
    for (const auto& label : rule["labels"]) {
      EXPECT_EQ(label.second.as<std::string>().find("{{"), std::string::npos)
          << name << ": label " << label.first.as<std::string>() << " is templated";
    }
    for (const char* key : {"summary", "description", "runbook_url"}) {
      EXPECT_FALSE(rule["annotations"][key].as<std::string>("").empty()) << name << ": no " << key;
    }
    auto description = rule["annotations"]["description"].as<std::string>("");
    if (name != "DrwatchDown" && name != "DrwatchConfigReloadFailed" && name.find("Breached") == std::string::npos) {
      EXPECT_NE(description.find("$labels.check"), std::string::npos) << name << " names no check";
      EXPECT_NE(description.find("$labels.target"), std::string::npos) << name << " names no target";
    }
  }
}

TEST(AlertRules, EveryRunbookUrlPointsAtASectionOfTheRunbookNamedAfterTheAlert) {
  auto anchors = RunbookAnchors();
  const std::regex url(R"(^https://github\.com/example/drwatch/blob/main/docs/runbook\.md#([a-z0-9_-]+)$)");
  for (const auto& rule : AlertRules()) {
    auto name = rule["alert"].as<std::string>();
    auto runbook = rule["annotations"]["runbook_url"].as<std::string>("");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(runbook, m, url)) << name << ": " << runbook;
    EXPECT_EQ(m[1], Anchor(name)) << name;
    EXPECT_TRUE(anchors.count(m[1])) << name << ": docs/runbook.md has no section #" << m[1];
  }
}

TEST(AlertRules, PromtoolTestsMakeEveryAlertFireAndStaySilent) {
  std::map<std::string, int> fired, silent;
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/config/alerts/tests")) {
    if (entry.path().extension() != ".yml") continue;
    for (const auto& test : YAML::LoadFile(entry.path().string())["tests"]) {
      for (const auto& t : test["alert_rule_test"]) {
        auto name = t["alertname"].as<std::string>();
        (t["exp_alerts"].size() > 0 ? fired : silent)[name]++;
      }
    }
  }
  for (const auto& rule : AlertRules()) {
    auto name = rule["alert"].as<std::string>();
    EXPECT_GT(fired[name], 0) << name << " is never expected to fire";
    EXPECT_GT(silent[name], 0) << name << " is never expected to stay silent or resolve";
  }
}

TEST(AlertRules, ExampleAlertmanagerConfigRoutesBySeverity) {
  auto config = YAML::LoadFile(kSource + "/config/alerts/alertmanager.example.yml");
  std::set<std::string> routed;
  for (const auto& route : config["route"]["routes"]) {
    for (const auto& m : route["matchers"]) routed.insert(m.as<std::string>());
  }
  EXPECT_TRUE(routed.count("severity=\"critical\""));
  EXPECT_TRUE(routed.count("severity=\"warning\""));
}

}  // namespace
}  // namespace drwatch::test
