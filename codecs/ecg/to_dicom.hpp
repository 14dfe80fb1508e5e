// The waveform model as a DICOM ECG object (Part-10, Explicit VR Little Endian), so that an ECG
// sent in any format can go to a PACS and be read in any DICOM viewer (IHE Resting ECG Workflow).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/ecg/waveform.hpp"

namespace countylink::codecs::ecg {

struct DicomEcgOptions {
    // Given UIDs are used as they are; an empty one is derived from `uid_seed` (derived_uid).
    std::string study_instance_uid, series_instance_uid, sop_instance_uid;
    // What makes this conversion unique, e.g. the original file's SHA-256: the same upload then
    // converts to the same object. Needed when any UID above is empty.
    std::string uid_seed;
    std::string institution_name;  // (0008,0080), e.g. the township's clinic
    std::string station_name;      // (0008,1010), e.g. the township's id (16 characters at most)
    // ISO 8601 "YYYY-MM-DDTHH:MM:SS" used for the content and study dates when the waveform has
    // no acquisition time (e.g. when the upload was received). The object needs one of the two.
    std::string fallback_time;
};

struct DicomEcgResult {
    std::vector<std::byte> bytes;  // the Part-10 file; empty when `error` is set
    std::string sop_class_uid, sop_instance_uid, study_instance_uid, series_instance_uid;
    std::string iod;                 // "12-lead ECG", "General ECG" or "Ambulatory ECG"
    std::vector<std::string> notes;  // what did not fit: an accession number too long, padding
    std::string error;               // why the waveform cannot be a DICOM ECG object

    bool ok() const { return error.empty(); }
};

// Converts `waveform`: 12-lead ECG Waveform Storage when every lead is one of the standard
// twelve, the rate is 200-1000 Hz and it lasts at most 16 s (16384 samples); else General ECG
// (1-24 leads, 200-1000 Hz); else Ambulatory ECG (1-12 leads, 50-1000 Hz, 24 h). Samples are 16-bit
// with a per-lead sensitivity in uV, so every sample decodes to within one quantum of the original
// (exactly, when the original values lie on a grid that fits). Deterministic: the same waveform
// and options give the same bytes. Never throws for a waveform it cannot represent (see error).
DicomEcgResult to_dicom_ecg(const Waveform& waveform, const DicomEcgOptions& options);

// "2.25." followed by the decimal value of the first 128 bits of SHA-256(seed "/" role): a UID
// (PS3.5 B.2) that is the same whenever seed and role are ("study", "series", "instance").
std::string derived_uid(std::string_view seed, std::string_view role);

}  // namespace countylink::codecs::ecg
