#include "config/duration.hpp"

#include <gtest/gtest.h>

namespace drwatch::config {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsEachUnit) {
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("30s"), seconds(30));
  EXPECT_EQ(ParseDuration("5m"), minutes(5));
  EXPECT_EQ(ParseDuration("24h"), hours(24));
  EXPECT_EQ(ParseDuration("7d"), days(7));
}

TEST(ParseDuration, AcceptsCombinationsLargestFirst) {
  EXPECT_EQ(ParseDuration("1h30m"), minutes(90));
  EXPECT_EQ(ParseDuration("1d2h3m4s5ms"), days(1) + hours(2) + minutes(3) + seconds(4) + milliseconds(5));
  EXPECT_EQ(ParseDuration("1m500ms"), milliseconds(60'500));
  EXPECT_EQ(ParseDuration("90m"), minutes(90));  // not canonical, still valid
  EXPECT_EQ(ParseDuration("1h0m"), hours(1));
}

TEST(ParseDuration, RejectsMalformedText) {
  for (const char* text : {"", "30", "s", "ms", "30sec", "5S", "5 s", " 5s", "5s ", "1.5h", "+5s", "-5s",
                           "1h30", "5x", "1m1h", "1s1s", "1ms1s", "1d1d", "0x10s"}) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << text;
  }
}

TEST(ParseDuration, RejectsZeroAndOverflow) {
  EXPECT_EQ(ParseDuration("0s"), std::nullopt);
  EXPECT_EQ(ParseDuration("0h0m"), std::nullopt);
  EXPECT_EQ(ParseDuration("99999999999999999999ms"), std::nullopt);
  EXPECT_EQ(ParseDuration("9999999999999d"), std::nullopt);
}

TEST(FormatDuration, PrintsTheCanonicalForm) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(seconds(30)), "30s");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(hours(24)), "1d");
  EXPECT_EQ(FormatDuration(days(7)), "7d");
  EXPECT_EQ(FormatDuration(days(1) + milliseconds(1)), "1d1ms");
  EXPECT_EQ(FormatDuration(milliseconds(-1500)), "-1s500ms");
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text :
       {"1ms", "999ms", "1s", "59s", "1m1s", "1h30m", "23h59m59s999ms", "7d", "365d", "2d3h4m5s6ms"}) {
    auto parsed = ParseDuration(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(FormatDuration(*parsed), text);
    EXPECT_EQ(ParseDuration(FormatDuration(*parsed)), parsed);
  }
  EXPECT_EQ(ParseDuration(FormatDuration(minutes(90))), minutes(90));
}

TEST(ToSeconds, ConvertsMilliseconds) { EXPECT_DOUBLE_EQ(ToSeconds(milliseconds(1500)), 1.5); }

}  // namespace
}  // namespace drwatch::config
