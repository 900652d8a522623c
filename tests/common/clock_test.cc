#include "common/clock.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(ClockTest, FormatAndParseRoundTrip) {
  int64_t t = 1795411266123456789;
  EXPECT_EQ(FormatTime(t), "2026-11-23T05:21:06Z");
  EXPECT_EQ(FormatTime(t, 9), "2026-11-23T05:21:06.123456789Z");
  EXPECT_EQ(*ParseTime("2026-11-23T05:21:06.123456789Z"), t);
  EXPECT_EQ(*ParseTime("2026-11-23T06:21:06.123456789+01:00"), t);
  EXPECT_EQ(*ParseTime("2026-11-23T05:21:06Z"), t - 123456789);
  EXPECT_FALSE(ParseTime("2026-11-24"));
  EXPECT_FALSE(ParseTime("2026-11-23T05:21:06"));
}

TEST(ClockTest, NegativeTimesFormat) {
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(*ParseTime("1969-12-31T23:59:59.999999999Z"), -1);
}

TEST(ClockTest, Durations) {
  EXPECT_EQ(*ParseDuration("90d"), 90 * 86400);
  EXPECT_EQ(*ParseDuration("12h"), 12 * 3600);
  EXPECT_FALSE(ParseDuration("12"));
  EXPECT_FALSE(ParseDuration("x1d"));
}

}  // namespace
}  // namespace cairn
