// ECG lead codes of DICOM CID 3001: the MDC ("2:N") and SCP-ECG ("5.6.3-9-N") spellings share
// the SCP-ECG lead number N, so one table serves the DICOM reader and the converter.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace countylink::codecs::ecg {

struct LeadCode {
    std::string_view lead;     // our name: "I", "aVR", "V3R" ...
    int number;                // SCP-ECG lead number (EN 1064 table 4)
    std::string_view meaning;  // CID 3001 code meaning, e.g. "Lead aVR"
};

// The code for a lead name as Waveform::leads carries it; nullptr for names outside the table.
const LeadCode* lead_code(std::string_view lead);

// The code used for a channel whose lead is not in the table ("Unspecified lead", number 0).
const LeadCode& unspecified_lead_code();

// "2:N" (MDC) for a code.
std::string mdc_code_value(const LeadCode& code);

// Lead name for a coded channel source: scheme "MDC" with "2:N" or "SCPECG" with "5.6.3-9-N";
// nullopt for other schemes, unknown numbers and the unspecified lead.
std::optional<std::string> lead_from_code(std::string_view scheme, std::string_view value);

}  // namespace countylink::codecs::ecg
