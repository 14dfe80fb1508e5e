#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace countylink::synth {

// The kinds of object the tool can write.
enum class Kind : std::uint8_t { ct = 1, dx = 2, cr = 3, us = 4, ecg = 5, mf = 6 };

// Transfer syntax of the written files (both little endian, uncompressed).
enum class Syntax : std::uint8_t { implicit_le, explicit_le };

// Everything one run needs; main() fills it from the command line and checks ranges.
struct Options {
    std::filesystem::path out_dir;
    Kind kind = Kind::ct;
    std::uint32_t count = 1;
    std::uint32_t studies = 1;
    std::uint64_t seed = 0;
    std::uint32_t frames = 64;          // mf only
    std::optional<std::uint16_t> rows;  // unset: the kind's default (dx/cr: varies per object)
    std::optional<std::uint16_t> cols;
    std::string patient_prefix = "TWP";
    Syntax syntax = Syntax::explicit_le;
    std::uint32_t sample_rate = 500;  // ecg only, Hz
};

// Parses "ct", "dx", ... into a Kind; nullopt for anything else.
std::optional<Kind> parse_kind(std::string_view text);

// Lower-case name of a kind, as accepted by parse_kind() and used in file names.
std::string_view kind_name(Kind kind);

// Default --studies for a kind: one series-per-study kinds (ct, us, mf) get 1 study, others
// (dx, cr, ecg: one exam per patient visit) get one study per object.
std::uint32_t default_studies(Kind kind, std::uint32_t count);

}  // namespace countylink::synth
