// The one waveform model every ECG format is read into (codecs/ecg/*), and what the quality
// gate, the JSON view and the DICOM converter work from.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace countylink::codecs::ecg {

enum class Format { dicom, hl7_aecg, scp_ecg, philips_sierra, ge_muse, wfdb, edf };

// Stable lower-case name ("dicom", "hl7-aecg", "scp-ecg", "philips-sierra", "ge-muse", "wfdb",
// "edf"), used in the API, metrics and logs.
std::string_view format_name(Format format);

struct Lead {
    std::string name;               // standard name when known: I, II, III, aVR, aVL, aVF, V1..V6
    std::vector<float> microvolts;  // baseline removed, sensitivity and correction applied
};

// A measurement the file itself carries (the device's own interpretation), never one of ours.
struct Measurement {
    std::string name;  // as in the file, e.g. "PR interval", "QTc", "Ventricular rate"
    double value = 0;
    std::string unit;  // UCUM where the file gives one ("ms", "/min", "uV")
};

struct Waveform {
    Format format = Format::dicom;
    double sample_rate_hz = 0;
    std::vector<Lead> leads;          // the rhythm (full-length) leads, never median beats
    std::string acquisition_time;     // ISO 8601 "YYYY-MM-DDTHH:MM:SS" when the file says
    std::string device_manufacturer;  // empty when absent
    std::string device_model;
    std::string patient_id, patient_name, patient_birth_date, patient_sex;  // as given
    std::string order_id;  // accession number / order placer id, when the file carries one
    std::vector<Measurement> measurements;
    // What the parser did that a reader should know: leads left out, skew applied, gaps joined.
    std::vector<std::string> notes;

    // Samples in the longest lead divided by the sample rate; 0 when there are none.
    double duration_s() const;
    // The lead with this standard name, or nullptr.
    const Lead* lead(std::string_view name) const;
};

// Why a file could not be read. `kind` picks the HTTP status (415 / 422 / 413); `reason` is
// exact: the section, byte offset or XML line, e.g. "SCP section 6: CRC mismatch".
enum class ErrorKind {
    unknown_format,  // not any ECG format we read: refused as such, never guessed (415)
    malformed,       // the format is known but the file is broken (422)
    unsupported,     // a legal variant we do not decode, named in the reason (422)
    too_large,       // declared or actual size beyond the limits below (413)
};

struct ParseError {
    ErrorKind kind = ErrorKind::malformed;
    std::string reason;
};

// Either a waveform or the reason there is none. Parsers never throw for bad content.
struct ParseResult {
    std::optional<Waveform> waveform;
    ParseError error;  // meaningful only when !waveform

    bool ok() const { return waveform.has_value(); }
    static ParseResult fail(ErrorKind kind, std::string reason);
};

// Bounds every parser enforces before allocating: a declared size beyond them is too_large.
inline constexpr std::size_t kMaxLeads = 64;
inline constexpr std::size_t kMaxTotalSamples = 32u * 1024 * 1024;  // all leads: 128 MiB of floats

// "I", "II", "III", "aVR", "aVL", "aVF", "V1".."V6" for the spellings formats use
// ("MDC_ECG_LEAD_I", "I (Einthoven)", "Lead II", "AVR", "DI", "V3R" stays "V3R"); anything else is
// returned trimmed.
std::string standard_lead_name(std::string_view name);

// The twelve standard leads in the conventional order.
std::span<const std::string_view> standard_leads();

// Adds III, aVR, aVL, aVF from I and II when the file sends only I and II (Einthoven/Goldberger):
// III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2. No-op when any is present.
void derive_limb_leads(Waveform& waveform);

}  // namespace countylink::codecs::ecg
