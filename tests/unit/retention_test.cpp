// When the nightly retention purge runs: at run_at_hour local time, and at once after a run was
// missed (the server was down at that hour, or has never run it). Times are built in local
// time, as the county's IT team sets them.
#include "gateway/server/retention.hpp"

#include <ctime>

#include <gtest/gtest.h>

namespace countylink::server {
namespace {

// Unix seconds of a local date and time.
int64_t local(int year, int month, int day, int hour, int minute) {
    std::tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    t.tm_isdst = -1;
    return static_cast<int64_t>(std::mktime(&t));
}

TEST(Retention, RunsAtTheHourAndCatchesUpAMissedRun) {
    const int64_t ten_am = local(2026, 11, 23, 10, 0);
    // Never run, or last run before today's 02:00: at once.
    EXPECT_EQ(next_retention_run(ten_am, std::nullopt, 2), ten_am);
    EXPECT_EQ(next_retention_run(ten_am, local(2026, 11, 22, 2, 0), 2), ten_am);
    // Today's run done: tomorrow at 02:00.
    EXPECT_EQ(next_retention_run(ten_am, local(2026, 11, 23, 2, 0), 2), local(2026, 11, 24, 2, 0));
    EXPECT_EQ(next_retention_run(ten_am, local(2026, 11, 23, 9, 30), 2), local(2026, 11, 24, 2, 0));

    const int64_t one_am = local(2026, 11, 23, 1, 0);
    // Before today's hour with yesterday's run done: today at 02:00.
    EXPECT_EQ(next_retention_run(one_am, local(2026, 11, 22, 2, 1), 2), local(2026, 11, 23, 2, 0));
    // Yesterday's run missed: at once, not at 02:00.
    EXPECT_EQ(next_retention_run(one_am, local(2026, 11, 21, 2, 0), 2), one_am);
    // Exactly at the hour: due.
    EXPECT_EQ(next_retention_run(local(2026, 11, 23, 2, 0), local(2026, 11, 22, 2, 0), 2),
              local(2026, 11, 23, 2, 0));
    // Midnight and 23:00 work across the day boundary (month end).
    EXPECT_EQ(next_retention_run(local(2026, 11, 30, 23, 30), local(2026, 11, 30, 23, 0), 23),
              local(2026, 12, 1, 23, 0));
    EXPECT_EQ(next_retention_run(local(2026, 11, 30, 23, 30), local(2026, 11, 30, 0, 0), 0),
              local(2026, 12, 1, 0, 0));
}

}  // namespace
}  // namespace countylink::server
