// Fuzz targets: one entry point per parser a peer or an operator can feed. Each is built twice:
// with clang and libFuzzer (COUNTYLINK_FUZZ=ON, one executable per target) and with the normal
// compiler into the replay test, which feeds it every seed and every saved crash input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace countylink::fuzz {

// Each entry point takes one input and returns 0; a bug shows as a crash, a sanitizer report
// or an abort() on a broken invariant. Bad input is expected and must not throw out.
int pdu(std::span<const std::byte> input);         // PDU decoding + association negotiation
int dimse(std::span<const std::byte> input);       // DIMSE command sets
int multipart(std::span<const std::byte> input);   // STOW-RS multipart/related bodies
int config(std::span<const std::byte> input);      // TOML configuration text
int ecg(std::span<const std::byte> input);         // ECG sniffing and parsing (all formats)
int part10(std::span<const std::byte> input);      // Part-10 file meta headers
int commitment(std::span<const std::byte> input);  // Storage Commitment N-ACTION datasets
int find(std::span<const std::byte> input);        // C-FIND identifiers

struct Target {
    const char* name;
    int (*entry)(std::span<const std::byte>);
};

// Every target, by the name used for its executable (fuzz_<name>) and its directories.
inline constexpr Target kTargets[] = {
    {"pdu", pdu}, {"dimse", dimse},   {"multipart", multipart},   {"config", config},
    {"ecg", ecg}, {"part10", part10}, {"commitment", commitment}, {"find", find}};

using Seed = std::pair<std::string, std::vector<std::byte>>;  // file name, contents

// Seed inputs for `target`, built from the shared test corpus and the repository's examples.
// Throws when the corpus is missing.
std::vector<Seed> seeds(const std::string& target, const std::filesystem::path& shared_dir,
                        const std::filesystem::path& source_dir);

// Aborts with `what` on stderr: a broken invariant is a finding, like a crash.
[[noreturn]] void fail(const char* what);

}  // namespace countylink::fuzz
