#include "engine/status.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace drwatch::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Status Sample() {
  Status s;
  s.now = 1'800'000'000;
  s.checks.push_back({"db_ping", "postgres.ping", "primary", "daily", "ok", false, s.now - 5, s.now - 5, 30, "1 ms", ""});
  s.checks.push_back({"audit_log_recency", "postgres.recency", "primary", "daily", "failing", false, s.now - 7200,
                      s.now - 10, 60, "newest row is 2h old, max_age 1h <script>alert(1)</script>", ""});
  s.checks.push_back({"security_review", "postgres.security", "primary", "weekly", "failing", true, std::nullopt,
                      s.now - 100, 86400, "critical findings: rls_disabled_in_public (2)",
                      "  rls_disabled_in_public (critical): 2: public.drafts, public.notes\n"});
  s.checks.push_back({"failover", "postgres.replication", "standby", "monthly", "never run", false, std::nullopt,
                      std::nullopt, 30, "", ""});
  s.objectives.push_back({"rpo.daily_operations", 86400, 3600, true});
  s.objectives.push_back({"rto.authentication", 900, std::nullopt, std::nullopt});
  return s;
}

TEST(CheckStateName, StaleAfterTwoIntervalsWithoutARun) {
  EXPECT_EQ(CheckStateName(false, false, std::nullopt, 30, 1000), "never run");
  EXPECT_EQ(CheckStateName(true, true, 950, 30, 1000), "ok");
  EXPECT_EQ(CheckStateName(true, false, 950, 30, 1000), "failing");
  EXPECT_EQ(CheckStateName(true, true, 900, 30, 1000), "stale");
  EXPECT_EQ(CheckStateName(true, false, 900, 30, 1000), "stale");
}

TEST(RenderStatusHtml, ShowsTheThreeChecklistsInOrderWithEachChecksState) {
  std::string page = RenderStatusHtml(Sample(), "/metrics");
  auto daily = page.find("Daily checklist"), weekly = page.find("Weekly checklist"),
       monthly = page.find("Monthly checklist"), objectives = page.find("Recovery objectives");
  ASSERT_NE(daily, std::string::npos);
  EXPECT_LT(daily, weekly);
  EXPECT_LT(weekly, monthly);
  EXPECT_LT(monthly, objectives);
  EXPECT_THAT(page, HasSubstr("<tr class=\"ok\" id=\"check-db_ping\"><td class=\"state ok\">&#10003; ok</td>"));
  EXPECT_THAT(page, HasSubstr("id=\"check-failover\"><td class=\"state never\">&#8226; never run</td>"));
  EXPECT_THAT(page, HasSubstr("&#10007; failing (running)"));
  EXPECT_THAT(page, HasSubstr("public.drafts, public.notes"));
  EXPECT_THAT(page, HasSubstr("1 ok</span><span class=\"pill failing\">2 failing"));
  EXPECT_THAT(page, HasSubstr("<title>drwatch: ATTENTION</title>"));
  EXPECT_THAT(page, HasSubstr("<meta http-equiv=\"refresh\" content=\"30\">"));
  EXPECT_THAT(page, HasSubstr("<b>rto.authentication</b></td><td>15m</td><td>&mdash;</td>"));
}

TEST(RenderStatusHtml, EscapesWhatChecksReport) {
  std::string page = RenderStatusHtml(Sample(), "/metrics\"><script>");
  EXPECT_THAT(page, Not(HasSubstr("<script>")));
  EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST(RenderStatusJson, CarriesTheSameData) {
  auto doc = boost::json::parse(RenderStatusJson(Sample()));
  const auto& checks = doc.at("checks").as_array();
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[1].at("state").as_string(), "failing");
  EXPECT_EQ(checks[2].at("checklist").as_string(), "weekly");
  EXPECT_TRUE(checks[2].at("running").as_bool());
  EXPECT_TRUE(checks[3].at("last_run").is_null());
  const auto& objectives = doc.at("objectives").as_array();
  EXPECT_EQ(objectives[0].at("met").as_bool(), true);
  EXPECT_TRUE(objectives[1].at("met").is_null());
}

}  // namespace
}  // namespace drwatch::engine
