// Validation of a received Part-10 object with DCMTK dcmdata: what is wrong with it, and
// whether that stops it from being stored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace countylink::codecs::dicom {

// One finding. `code` is a stable snake_case name used in config and metrics:
//   fatal by default:  unparseable, missing_uid (SOP Class/Instance UID absent), malformed_uid,
//                      uid_mismatch, pixel_data_short
//   warning by default: missing_study_uid (Study or Series Instance UID absent),
//                       missing_patient_id, missing_modality, pixel_data_padded,
//                       bad_text_value, vr_un_known, character_set_not_converted
//   notice by default:  undeclared_character_set (recorded, but the status stays success)
// `reason` is a readable sentence for the sender (DIMSE Error Comment, at most 64 chars matter).
struct Finding {
    std::string code;
    std::string reason;
};

// Identifiers the index and routing need; empty when absent.
struct Identifiers {
    std::string sop_class_uid, sop_instance_uid, study_instance_uid, series_instance_uid;
    std::string patient_id, patient_name, modality, study_date, accession_number;
    std::string transfer_syntax_uid;
    // For the worklist and viewers' queries: what the reader sees, and the priority the
    // requester asked for.
    std::string study_time, study_description, body_part;
    std::string study_id, patient_birth_date, patient_sex;
    std::string series_number, series_description, instance_number;
    std::string requested_procedure_priority;  // (0040,1003): STAT, HIGH, ROUTINE, MEDIUM, LOW
    std::string study_priority_id;             // (0032,000C): HIGH, MED, LOW (retired, still sent)
};

// 16-bit little-endian samples worth pre-filtering before compression
// (codecs/compress/sample_filter): native Pixel Data or the largest Waveform Data.
struct SampleHint {
    uint16_t group = 0, element = 0;  // (7FE0,0010) or (5400,1010)
    uint64_t length = 0;              // value length in bytes
    uint16_t stride = 0;              // interleaved channels (waveforms); 0 for pixels
};

struct CheckReport {
    Identifiers ids;
    std::optional<SampleHint> samples;
    std::vector<Finding> findings;
    // True when any finding's code is in the fatal set given to check_part10_file.
    bool fatal = false;
};

// What the DIMSE command said the object is (C-STORE-RQ Affected SOP Class/Instance UID).
struct Expected {
    std::string sop_class_uid;
    std::string sop_instance_uid;
};

// A UID as PS3.5 9.1 allows it: 1-64 characters, digits and dots, no empty component and no
// leading zero in a multi-digit one.
bool is_valid_uid(std::string_view uid);

// All finding codes this checker can produce (for config validation).
const std::set<std::string>& known_finding_codes();

// Codes that are always fatal whatever the config says: without them the object can't be indexed.
const std::set<std::string>& always_fatal_codes();

// Codes that are recorded (index flags, metrics) but do not by themselves make a stored object's
// status a warning: the data was read as the sender most likely meant it.
const std::set<std::string>& notice_codes();

// Parses the Part-10 file at `path` without loading large values (pixel data stays on disk),
// and reports findings. Never throws for bad content (that is a finding); throws
// std::runtime_error only if the file cannot be opened at all.
CheckReport check_part10_file(const std::filesystem::path& path, const Expected& expected,
                              const std::set<std::string>& fatal_codes);

}  // namespace countylink::codecs::dicom
