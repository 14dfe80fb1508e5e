// Shared pieces of the torture tests (label "torture"): how long to run, synthetic studies,
// senders that log what the gateway acknowledged, and the checks every test ends with.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace countylink::testing::torture {

// COUNTYLINK_TORTURE_ROUNDS when set (the long mode: scripts/torture.sh --long), else `ci`.
int rounds(int ci);

// Synthetic CT objects (countylink-synth, size x size pixels) in `dir`; distinct UIDs per seed.
std::vector<fs::path> synth_ct(const fs::path& dir, int count, int studies, int seed,
                               int size = 64);

// The SOP Instance UID in a Part-10 file's meta header.
std::string sop_uid(const fs::path& file);

// storescu -v with the files in one association; returns the files whose C-STORE-RSP said
// Success or Warning (the sender's proof of acknowledgement), whatever happened after.
std::vector<fs::path> storescu_acknowledged(uint16_t port, const std::vector<fs::path>& files,
                                            const std::string& extra_args = {});

// One STOW-RS request per file with curl; returns the files answered with 200.
std::vector<fs::path> stow_acknowledged(uint16_t http_port, const std::string& token,
                                        const std::vector<fs::path>& files);

// Checks that the gateway returns each acknowledged object (by SOP UID) with the dataset bytes
// of its file; returns the UIDs that failed, with why.
std::vector<std::string> missing_or_changed(const Gateway& gw,
                                            const std::map<std::string, fs::path>& acknowledged);

// Consistency of a stopped gateway's data directory, from its SQLite index: every instance's
// blob file exists, no study is twice in a queue, no forward item without its instance.
// Returns the problems found (empty when consistent).
std::vector<std::string> index_problems(const fs::path& data_dir);

// A DCMTK storescp as the forward destination (PACS), storing into `dir` with unique file
// names so that a duplicate delivery stays visible; ready when constructed.
class Pacs {
  public:
    explicit Pacs(const fs::path& dir);
    const fs::path dir;
    const uint16_t port;

  private:
    Process storescp_;
};

// Gateway config that queues every CT and forwards it to "pacs" at 127.0.0.1:port, retrying
// after 1 s.
std::string forward_config(uint16_t port);

// Files per SOP Instance UID in a storescp output directory (+uf keeps duplicates apart); a
// file storescp is still writing counts under "".
std::map<std::string, int> received_by_uid(const fs::path& dir);

// Forward outbox items not (yet) delivered, from the index.
std::size_t undelivered_forward_items(const fs::path& data_dir);

// The value of one Prometheus sample line ("name{labels}") in /metrics, 0 when absent.
double metric(const Gateway& gw, const std::string& sample);

}  // namespace countylink::testing::torture
