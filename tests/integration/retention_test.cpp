// The nightly retention purge as a county relies on it when nobody watches the disk: studies
// stored long enough ago and done with go without anyone asking, unread ones stay, and a run
// missed while the gateway was down happens as soon as it is back. The studies are stored by a
// gateway living three days in the past (libfaketime), so no test waits for days to pass.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

// The server's environment for running `offset` (e.g. "-3d") away from now. Its steady clock
// stays real, so its timers and timeouts behave; ASan must accept the preloaded library.
std::vector<std::string> faketime(const std::string& offset) {
    const char* asan = std::getenv("ASAN_OPTIONS");
    return {"LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "FAKETIME=" + offset,
            "FAKETIME_DONT_FAKE_MONOTONIC=1",
            "ASAN_OPTIONS=" + std::string(asan ? asan : "") + ":verify_asan_link_order=0"};
}

void store(const Gateway& gw, const fs::path& dir) {
    const auto r = run("storescu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) +
                       " +sd '" + dir.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
}

TEST(Retention, NightlyPurgeTakesOldStudiesDoneWithAndKeepsUnreadOnes) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    // CT goes to the imaging worklist (unread until a reader reports it); DX goes nowhere, so it
    // is done with once stored. Each synthetic DX is a study of its own.
    const std::string routing =
        "[[routing.rules]]\nmodalities = [\"CT\"]\nqueues = [\"imaging\"]\n";
    const fs::path dx = synth(tmp.path() / "dx", "dx", 3, 31);
    const fs::path ct = synth(tmp.path() / "ct", "ct", 2, 32);
    {
        Gateway past(data, routing, faketime("-3d"));
        store(past, dx);
        store(past, ct);
        ASSERT_NE(past.log().find(" 2 objects"), std::string::npos);
    }
    {
        // Fresh DX today: too young to go.
        Gateway today(data, routing);
        store(today, synth(tmp.path() / "dx-today", "dx", 1, 33));
    }

    // Retention at 00:00 local: today's run time has passed and none ran, so it runs at start.
    Gateway gw(data, routing + "[retention]\npurge_after_days = 2\nrun_at_hour = 0\n");
    EXPECT_TRUE(eventually([&] {
        return gw.get("/metrics").body.find("countylink_retention_purged_studies_total 3\n") !=
               std::string::npos;
    })) << gw.log();
    EXPECT_NE(gw.log().find("retention: purged 3 studies (3 instances"), std::string::npos)
        << gw.log();
    EXPECT_NE(gw.log().find("unread 1"), std::string::npos) << gw.log();
    for (const auto& e : fs::directory_iterator(dx)) {
        EXPECT_EQ(gw.get("/api/v1/instances/" + dicom_value(e.path(), "0008,0018")).status, 404);
    }
    for (const auto& e : fs::directory_iterator(ct)) {
        EXPECT_EQ(gw.get("/api/v1/instances/" + dicom_value(e.path(), "0008,0018")).status, 200);
    }
    // Each purged study is audited as the server's own doing.
    const auto audit = run((bin_dir() / "countylinkctl").string() + " audit --data-dir '" +
                           data.string() + "' --event purge 2>/dev/null");
    EXPECT_NE(audit.output.find("countylinkd"), std::string::npos) << audit.output;
    EXPECT_TRUE(fs::exists(data / "retention.last"));
}

}  // namespace
}  // namespace countylink::testing
