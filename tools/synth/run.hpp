#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "options.hpp"

namespace countylink::synth {

// What a run produced.
struct RunResult {
    std::uint32_t objects = 0;
    std::uint64_t bytes = 0;
    std::filesystem::path out_dir;
};

// File name of run position `index`: "<kind>-<index + 1, at least 6 digits>.dcm".
std::string object_file_name(Kind kind, std::uint32_t index);

// Writes options.count objects into options.out_dir (created if missing) as
// object_file_name(); each file appears atomically (written as *.partial, then renamed).
// Writes a progress line to `progress` about once a second, and at each 10% step once the
// run has lasted a second. Throws std::runtime_error with an actionable message on failure.
RunResult run(const Options& options, std::ostream& progress);

}  // namespace countylink::synth
