#include "common/iso8601.hpp"

#include <gtest/gtest.h>

namespace drwatch {
namespace {

using namespace std::chrono;

system_clock::time_point At(long long unix_seconds, long long micros = 0) {
  return system_clock::time_point(seconds(unix_seconds)) + microseconds(micros);
}

TEST(ParseIso8601, ReadsZuluWithAndWithoutFraction) {
  EXPECT_EQ(ParseIso8601("2026-11-25T02:30:00Z"), At(1795573800));
  EXPECT_EQ(ParseIso8601("2026-11-25T02:30:00.000Z"), At(1795573800));
  EXPECT_EQ(ParseIso8601("2026-11-25T02:30:00.5Z"), At(1795573800, 500000));
  EXPECT_EQ(ParseIso8601("2026-11-25T02:30:00.123456789z"), At(1795573800, 123456));
  EXPECT_EQ(ParseIso8601("2026-11-25 02:30:00Z"), At(1795573800));
}

TEST(ParseIso8601, AppliesOffsets) {
  EXPECT_EQ(ParseIso8601("2026-11-25T03:30:00+01:00"), At(1795573800));
  EXPECT_EQ(ParseIso8601("2026-11-24T21:00:00-0530"), At(1795573800));
  EXPECT_EQ(ParseIso8601("2026-11-25T04:30:00.250+02"), At(1795573800, 250000));
}

TEST(ParseIso8601, RejectsEverythingElse) {
  for (const char* bad : {"", "yesterday", "2026-11-25", "2026-11-25T02:30:00", "2026-13-01T00:00:00Z",
                          "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T02:30:00.Z",
                          "2026-11-25T02:30:00Zjunk", "2026-11-25T02:30:00+1"}) {
    EXPECT_FALSE(ParseIso8601(bad)) << bad;
  }
}

// Years that system_clock's nanoseconds cannot hold are refused, not
// overflowed (found by manifest_fuzz and s3_xml_fuzz: "3026-12-05T…").
TEST(ParseIso8601, RefusesYearsOutsideTheClocksRange) {
  for (const char* bad : {"3026-12-05T02:30:00.120Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                          "1600-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseIso8601(bad)) << bad;
  }
  EXPECT_TRUE(ParseIso8601("2250-12-31T23:59:59Z"));
  EXPECT_TRUE(ParseIso8601("1970-01-01T00:00:00Z"));
}

TEST(FormatRfc3339, WritesUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(At(1795573800, 250999)), "2026-11-25T02:30:00.250Z");
  EXPECT_EQ(FormatRfc3339(At(0)), "1970-01-01T00:00:00.000Z");
}

TEST(CompactUtc, FormatsWholeSecondsAndParsesBack) {
  EXPECT_EQ(FormatCompactUtc(At(1795573800, 750000)), "20261125T023000Z");
  EXPECT_EQ(ParseCompactUtc("20261125T023000Z"), At(1795573800));
  EXPECT_EQ(ParseCompactUtc("20150830T123600Z"), At(1440938160));  // SigV4's example x-amz-date
  EXPECT_EQ(FormatCompactUtc(At(1440938160)), "20150830T123600Z");
}

TEST(CompactUtc, RefusesAnythingElse) {
  for (const char* bad : {"", "20261125T023000", "20261125023000Z", "20261325T023000Z", "20261125T253000Z",
                          "20261125T023060Z", "2026112xT023000Z", "20260230T000000Z", "20261125t023000z",
                          "30261125T023000Z", ".partial", "20261125T023000Z "}) {
    EXPECT_FALSE(ParseCompactUtc(bad)) << bad;
  }
}

TEST(FormatReadableUtc, WritesDateSpaceTimeZ) {
  EXPECT_EQ(FormatReadableUtc(At(1795573800, 999999)), "2026-11-25 02:30:00Z");
}

TEST(ParseHttpDate, ReadsImfFixdate) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), At(784111777));
  EXPECT_FALSE(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT"));
}

}  // namespace
}  // namespace drwatch
