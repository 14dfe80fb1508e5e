#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "options.hpp"

namespace countylink::synth {

// Root of every UID this tool makes; UIDs look like <root>.<role>.<63-bit hash>.
inline constexpr std::string_view kUidRoot = "1.2.826.0.1.3680043.10.1234";

// What a UID identifies; part of the UID so different roles can never collide.
enum class UidRole : std::uint8_t { study = 1, series = 2, instance = 3, frame_of_reference = 4 };

// Returns a UID (at most 48 chars) fixed by (seed, kind, role, study, instance): same in, same out.
std::string make_uid(std::uint64_t seed, Kind kind, UidRole role, std::uint32_t study,
                     std::uint32_t instance = 0);

// Where one object sits in the run.
struct ObjectSlot {
    std::uint32_t index = 0;        // zero-based position in the run
    std::uint32_t study = 0;        // zero-based study number
    std::uint32_t instance = 1;     // one-based instance number within the study's one series
    std::uint32_t series_size = 1;  // objects in that series
};

// Maps run position `index` (< count) to its slot; objects fill `studies` (1..count) contiguous
// studies whose sizes differ by at most one.
ObjectSlot slot_for(std::uint32_t index, std::uint32_t count, std::uint32_t studies);

// Patient and study attributes shared by every object of one study.
struct StudyIdentity {
    std::string patient_name;         // PN, e.g. "WANG^FANG"
    std::string patient_id;           // <prefix><8 digits>
    std::string birth_date;           // YYYYMMDD
    std::string sex;                  // "M" or "F"
    std::string age;                  // e.g. "047Y"
    std::string study_date;           // YYYYMMDD
    std::uint32_t study_seconds = 0;  // study time as seconds after midnight
    std::string accession_number;
    std::string study_id;
    std::string referring_physician;
    std::string study_uid;
    std::string series_uid;
    std::string frame_of_reference_uid;
};

// Builds the identity of study number `study` of a run; deterministic in (seed, kind, study).
StudyIdentity make_study_identity(const Options& options, std::uint32_t study);

// Formats seconds after midnight as a DICOM TM "HHMMSS", clamped to 235959.
std::string dicom_time(std::uint64_t seconds_of_day);

}  // namespace countylink::synth
