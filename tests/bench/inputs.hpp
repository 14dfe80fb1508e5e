// What every microbenchmark works on: three realistic objects written once at start-up by the
// countylink-synth generator (a ~280 KB DX, a 512x512 16-bit CT slice, a 10 s 12-lead ECG), their
// bytes in memory, what validation says about them, and a scratch directory for stores.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "codecs/compress/sample_filter.hpp"
#include "codecs/dicom/dataset_check.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink::bench {

struct BenchObject {
    std::string kind;            // "dx", "ct", "ecg": the benchmark name's suffix
    std::filesystem::path file;  // the Part-10 file, as the pipeline reads it from the spool
    std::vector<std::byte> bytes;
    std::size_t dataset_offset = 0;  // first byte after the File Meta group (what DIMSE carries)
    codecs::dicom::CheckReport report;
    std::optional<compress::SampleRange> samples;  // the pre-filter range, as the pipeline finds it
};

class Inputs {
  public:
    // Writes the objects into a new directory under `scratch_base` (removed with this) and checks
    // them; throws with a readable reason if one cannot be written, read or is refused.
    explicit Inputs(const std::filesystem::path& scratch_base);

    // DX, CT and ECG, in that order.
    const std::vector<BenchObject>& objects() const { return objects_; }
    const BenchObject& dx() const { return objects_.front(); }
    // <scratch>/<name>, created if missing: a place for a blob store, an index, a spool.
    std::filesystem::path directory(const std::string& name) const;
    // The fatal finding codes of the default configuration.
    const std::set<std::string>& fatal_codes() const { return fatal_codes_; }

  private:
    testing::TempDir scratch_;
    std::set<std::string> fatal_codes_;
    std::vector<BenchObject> objects_;
};

// Where start-up puts the scratch directory: /dev/shm (tmpfs, so file I/O and fsync cost CPU,
// not disk latency) if it exists, else the system temp dir.
std::filesystem::path default_scratch_base();

}  // namespace countylink::bench
