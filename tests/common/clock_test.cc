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

TEST(ClockTest, TimespecToNsAndBack) {
  EXPECT_EQ(TimespecToNs(timespec{0, 0}), 0);
  EXPECT_EQ(TimespecToNs(timespec{1795411266, 123456789}), 1795411266123456789);
  // Before 1970 tv_sec is negative and tv_nsec positive (utimensat's form).
  EXPECT_EQ(TimespecToNs(timespec{-1, 999999999}), -1);
  for (int64_t ns : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{999999999}, int64_t{-999999999},
                     int64_t{1000000000}, int64_t{-1000000000}, int64_t{-1000000001},
                     int64_t{1795411266123456789}, int64_t{-1795411266123456789}}) {
    const timespec ts = NsToTimespec(ns);
    EXPECT_GE(ts.tv_nsec, 0) << ns;
    EXPECT_LT(ts.tv_nsec, 1000000000) << ns;
    EXPECT_EQ(TimespecToNs(ts), ns);
  }
  EXPECT_EQ(NsToTimespec(-1).tv_sec, -1);
  EXPECT_EQ(NsToTimespec(-1).tv_nsec, 999999999);
  EXPECT_EQ(NsToTimespec(-1000000000).tv_sec, -1);
  EXPECT_EQ(NsToTimespec(-1000000000).tv_nsec, 0);
}

// Two times that differ only in whole seconds (a coarse-timestamp file
// system: the nanoseconds are always zero) are different times.
TEST(ClockTest, TimesDifferingOnlyInSecondsDiffer) {
  EXPECT_NE(TimespecToNs(timespec{100, 0}), TimespecToNs(timespec{101, 0}));
  EXPECT_NE(TimespecToNs(timespec{100, 5}), TimespecToNs(timespec{200, 5}));
}

}  // namespace
}  // namespace cairn
