#include "codecs/ecg/to_dicom.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcvrobow.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>

#include "codecs/dicom/dataset_bytes.hpp"
#include "codecs/dicom/part10.hpp"
#include "codecs/ecg/lead_codes.hpp"

namespace countylink::codecs::ecg {

namespace {

constexpr std::string_view kTwelveLead = "1.2.840.10008.5.1.4.1.1.9.1.1";
constexpr std::string_view kGeneral = "1.2.840.10008.5.1.4.1.1.9.1.2";
constexpr std::string_view kAmbulatory = "1.2.840.10008.5.1.4.1.1.9.1.3";
constexpr std::string_view kExplicitLittle = "1.2.840.10008.1.2.1";
// Measurement names have no standard code here: a local scheme (PS3.3 8.2, "99" prefix).
constexpr std::string_view kLocalScheme = "99CNTYLNK";
// The grid search looks at this many samples per lead to guess the original quantum.
constexpr std::size_t kGridProbe = 100000;

struct Iod {
    std::string_view uid, name;
};

// PS3.3 A.34.3 / A.34.4 / A.34.5: which ECG IOD can hold this waveform; nullopt if none.
std::optional<Iod> choose_iod(const Waveform& w, std::size_t samples) {
    const double rate = w.sample_rate_hz;
    const std::size_t leads = w.leads.size();
    const auto standard = standard_leads();
    const bool all_standard = std::all_of(w.leads.begin(), w.leads.end(), [&](const Lead& l) {
        return std::find(standard.begin(), standard.end(), l.name) != standard.end();
    });
    const bool in_200_1000 = rate >= 200 && rate <= 1000;
    if (all_standard && in_200_1000 && leads <= 13 && samples <= 16384 &&
        static_cast<double>(samples) / rate <= 16.0)
        return Iod{kTwelveLead, "12-lead ECG"};
    if (in_200_1000 && leads <= 24) return Iod{kGeneral, "General ECG"};
    if (rate >= 50 && rate <= 1000 && leads <= 12 && static_cast<double>(samples) / rate <= 86400)
        return Iod{kAmbulatory, "Ambulatory ECG"};
    return std::nullopt;
}

// --- text values ---------------------------------------------------------------------------------

// Drops control characters and backslashes (the value separator) and cuts to `max` bytes
// without splitting a UTF-8 sequence.
std::string clean(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f && c != '\\') out += c;
    }
    if (out.size() > max) {
        std::size_t cut = max;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out.resize(cut);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

bool has_non_ascii(const Waveform& w, const DicomEcgOptions& o) {
    for (const std::string* s : {&w.patient_name, &w.patient_id, &w.device_manufacturer,
                                 &w.device_model, &w.order_id, &o.institution_name}) {
        if (std::any_of(s->begin(), s->end(), [](char c) { return c & 0x80; })) return true;
    }
    return std::any_of(w.measurements.begin(), w.measurements.end(), [](const Measurement& m) {
        return std::any_of(m.name.begin(), m.name.end(), [](char c) { return c & 0x80; });
    });
}

std::string digits_only(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c >= '0' && c <= '9') out += c;
    return out;
}

// "1951-05-02" or "19510502" -> "19510502"; empty when it is neither.
std::string dicom_date(std::string_view s) {
    const std::string d = digits_only(s);
    if (d.size() != 8 || (s.size() != 8 && s.size() != 10)) return {};
    return d;
}

struct DateTime {
    std::string date, time;  // DA "YYYYMMDD", TM "HHMMSS"
};

// ISO 8601 "YYYY-MM-DDTHH:MM:SS" (time optional) to DICOM date and time.
std::optional<DateTime> dicom_datetime(std::string_view iso) {
    if (iso.size() < 10) return std::nullopt;
    DateTime out;
    out.date = dicom_date(iso.substr(0, 10));
    if (out.date.empty()) return std::nullopt;
    out.time = "000000";
    if (iso.size() >= 19 && iso[10] == 'T') {
        const std::string t = digits_only(iso.substr(11, 8));
        if (t.size() == 6) out.time = t;
    }
    return out;
}

std::string sex_code(std::string_view s) {
    if (s.empty()) return {};
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s.front())));
    if (c == 'M' || c == 'F') return std::string(1, c);
    if (c == 'O' || c == 'U') return "O";
    return {};
}

// Shortest text that parses back to `v` within 16 characters (the DS limit).
std::string ds_value(double v) {
    std::array<char, 32> buf{};
    for (int precision = 6; precision <= 17; ++precision) {
        std::snprintf(buf.data(), buf.size(), "%.*g", precision, v);
        if (std::strtod(buf.data(), nullptr) == v) break;
    }
    std::string out = buf.data();
    if (out.size() > 16) {
        std::snprintf(buf.data(), buf.size(), "%.10g", v);
        out = buf.data();
    }
    return out;
}

// --- DCMTK helpers -------------------------------------------------------------------------------

void put(DcmItem& item, const DcmTagKey& key, const std::string& value) {
    if (item.putAndInsertString(key, value.c_str()).bad())
        throw std::logic_error("cannot set " + DcmTag(key).toString() + "");
}

void put_us(DcmItem& item, const DcmTagKey& key, Uint16 value) {
    if (item.putAndInsertUint16(key, value).bad())
        throw std::logic_error("cannot set " + DcmTag(key).toString() + "");
}

DcmItem& append_item(DcmItem& item, const DcmTagKey& sequence) {
    DcmItem* child = nullptr;
    if (item.findOrCreateSequenceItem(sequence, child, -2).bad() || child == nullptr)
        throw std::logic_error("cannot add an item to " + DcmTag(sequence).toString() + "");
    return *child;
}

void put_code(DcmItem& item, const DcmTagKey& sequence, const std::string& value,
              const std::string& scheme, const std::string& meaning) {
    DcmItem& code = append_item(item, sequence);
    put(code, DCM_CodeValue, value);
    put(code, DCM_CodingSchemeDesignator, scheme);
    put(code, DCM_CodeMeaning, meaning);
}

// --- samples -------------------------------------------------------------------------------------

struct Quantized {
    double sensitivity_uv = 1;  // exactly what the DS text says
    std::string sensitivity_text = "1";
};

// The step of the grid the values lie on, if they lie on one (a source's own quantum, e.g. 2.5 uV
// or 4.88 uV): then 16-bit counts at that step reproduce them exactly.
std::optional<double> grid_step(const std::vector<float>& v) {
    std::vector<float> probe(v.begin(), v.begin() + std::min(v.size(), kGridProbe));
    std::sort(probe.begin(), probe.end());
    probe.erase(std::unique(probe.begin(), probe.end()), probe.end());
    double step = 0;
    for (std::size_t i = 1; i < probe.size(); ++i) {
        const double d = static_cast<double>(probe[i]) - probe[i - 1];
        if (d > 0 && (step == 0 || d < step)) step = d;
    }
    if (!(step > 0)) return std::nullopt;
    const double step_ds = std::strtod(ds_value(step).c_str(), nullptr);
    for (const float x : v) {
        const double k = x / step_ds;
        if (std::fabs(k) > 32767 || std::fabs(k - std::nearbyint(k)) > 1e-3) return std::nullopt;
    }
    return step_ds;
}

Quantized quantize(const std::vector<float>& v) {
    double max_abs = 0;
    for (const float x : v) max_abs = std::max(max_abs, static_cast<double>(std::fabs(x)));
    Quantized q;
    if (max_abs == 0) return q;
    const double fit = max_abs / 32767.0;  // the finest step that still holds the largest value
    double step = fit;
    if (auto grid = grid_step(v); grid && *grid >= fit) step = *grid;
    // The DS text is what a reader multiplies by: encode with exactly that value.
    std::string text = ds_value(step);
    double parsed = std::strtod(text.c_str(), nullptr);
    while (max_abs / parsed > 32767.0) {
        step *= 1.0 + 1e-9;
        text = ds_value(step);
        parsed = std::strtod(text.c_str(), nullptr);
    }
    q.sensitivity_uv = parsed;
    q.sensitivity_text = text;
    return q;
}

// --- UIDs ----------------------------------------------------------------------------------------

std::string decimal(unsigned __int128 v) {
    if (v == 0) return "0";
    std::string out;
    while (v > 0) {
        out += static_cast<char>('0' + static_cast<int>(v % 10));
        v /= 10;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

// --- the object ----------------------------------------------------------------------------------

void put_identity(DcmDataset& ds, const Waveform& w, const DicomEcgOptions& o, const DateTime& when,
                  DicomEcgResult& r) {
    if (has_non_ascii(w, o)) put(ds, DCM_SpecificCharacterSet, "ISO_IR 192");
    put(ds, DCM_SOPClassUID, r.sop_class_uid);
    put(ds, DCM_SOPInstanceUID, r.sop_instance_uid);
    // Patient
    put(ds, DCM_PatientName, clean(w.patient_name, 64));
    put(ds, DCM_PatientID, clean(w.patient_id, 64));
    put(ds, DCM_PatientBirthDate, dicom_date(w.patient_birth_date));
    put(ds, DCM_PatientSex, sex_code(w.patient_sex));
    if (w.patient_id.size() > 64) r.notes.push_back("patient id longer than 64 characters, cut");
    // General Study
    put(ds, DCM_StudyInstanceUID, r.study_instance_uid);
    put(ds, DCM_StudyDate, when.date);
    put(ds, DCM_StudyTime, when.time);
    put(ds, DCM_ReferringPhysicianName, "");
    put(ds, DCM_StudyID, "");
    const std::string accession = clean(w.order_id, 64);
    if (accession.size() <= 16) {
        put(ds, DCM_AccessionNumber, accession);
    } else {
        // A cut accession number could match another order: leave it out instead.
        put(ds, DCM_AccessionNumber, "");
        r.notes.push_back("order id longer than 16 characters: not written as Accession Number");
    }
    // General Series
    put(ds, DCM_Modality, "ECG");
    put(ds, DCM_SeriesInstanceUID, r.series_instance_uid);
    put(ds, DCM_SeriesNumber, "1");
    // General Equipment: the acquiring device, as the source file names it
    put(ds, DCM_Manufacturer, clean(w.device_manufacturer, 64));
    if (!w.device_model.empty()) put(ds, DCM_ManufacturerModelName, clean(w.device_model, 64));
    if (!o.institution_name.empty()) put(ds, DCM_InstitutionName, clean(o.institution_name, 64));
    if (!o.station_name.empty()) put(ds, DCM_StationName, clean(o.station_name, 16));
    // Waveform Identification
    put(ds, DCM_InstanceNumber, "1");
    put(ds, DCM_ContentDate, when.date);
    put(ds, DCM_ContentTime, when.time);
    put(ds, DCM_AcquisitionDateTime, when.date + when.time);
    // Acquisition Context: nothing is known about it; the Type 2 sequence is present and empty.
    if (ds.insertEmptyElement(DCM_AcquisitionContextSequence).bad())
        throw std::logic_error("cannot add AcquisitionContextSequence");
}

void put_waveform(DcmDataset& ds, const Waveform& w, std::size_t samples, DicomEcgResult& r) {
    DcmItem& group = append_item(ds, DCM_WaveformSequence);
    put(group, DCM_WaveformOriginality, "ORIGINAL");
    put_us(group, DCM_NumberOfWaveformChannels, static_cast<Uint16>(w.leads.size()));
    if (group.putAndInsertUint32(DCM_NumberOfWaveformSamples, static_cast<Uint32>(samples)).bad())
        throw std::logic_error("cannot set NumberOfWaveformSamples");
    put(group, DCM_SamplingFrequency, ds_value(w.sample_rate_hz));
    put(group, DCM_MultiplexGroupLabel, "RHYTHM");

    std::vector<Uint16> words(samples * w.leads.size(), 0);
    for (std::size_t c = 0; c < w.leads.size(); ++c) {
        const Lead& lead = w.leads[c];
        const Quantized q = quantize(lead.microvolts);
        DcmItem& channel = append_item(group, DCM_ChannelDefinitionSequence);
        put(channel, DCM_WaveformChannelNumber, std::to_string(c + 1));
        put(channel, DCM_ChannelLabel, clean(lead.name, 16));
        const LeadCode* code = lead_code(lead.name);
        const LeadCode& source = code ? *code : unspecified_lead_code();
        put_code(channel, DCM_ChannelSourceSequence, mdc_code_value(source), "MDC",
                 std::string(source.meaning));
        put(channel, DCM_ChannelSensitivity, q.sensitivity_text);
        put_code(channel, DCM_ChannelSensitivityUnitsSequence, "uV", "UCUM", "microvolt");
        put(channel, DCM_ChannelSensitivityCorrectionFactor, "1");
        put(channel, DCM_ChannelBaseline, "0");
        put(channel, DCM_ChannelSampleSkew, "0");
        put_us(channel, DCM_WaveformBitsStored, 16);
        for (std::size_t s = 0; s < lead.microvolts.size(); ++s) {
            const double counts = std::nearbyint(lead.microvolts[s] / q.sensitivity_uv);
            const auto v = static_cast<Sint16>(std::clamp(counts, -32768.0, 32767.0));
            words[s * w.leads.size() + c] = static_cast<Uint16>(v);
        }
        if (lead.microvolts.size() < samples)
            r.notes.push_back(lead.name + " is " +
                              std::to_string(samples - lead.microvolts.size()) +
                              " samples shorter than the longest lead: padded with 0");
    }
    put_us(group, DCM_WaveformBitsAllocated, 16);
    put(group, DCM_WaveformSampleInterpretation, "SS");
    auto data = std::make_unique<DcmOtherByteOtherWord>(DcmTag(DCM_WaveformData, EVR_OW));
    if (data->putUint16Array(words.data(), static_cast<unsigned long>(words.size())).bad() ||
        group.insert(data.get()).bad())
        throw std::logic_error("cannot set WaveformData");
    static_cast<void>(data.release());  // the item owns it now
}

// The device's measurements as numeric annotations on the whole multiplex group.
void put_measurements(DcmDataset& ds, const Waveform& w) {
    for (const auto& m : w.measurements) {
        if (!std::isfinite(m.value) || m.name.empty()) continue;
        DcmItem& a = append_item(ds, DCM_WaveformAnnotationSequence);
        const std::string name = clean(m.name, 64);
        put_code(a, DCM_ConceptNameCodeSequence, clean(name, 16), std::string(kLocalScheme), name);
        const std::string unit = m.unit.empty() ? "1" : clean(m.unit, 16);
        put_code(a, DCM_MeasurementUnitsCodeSequence, unit, "UCUM", unit);
        const std::array<Uint16, 2> refs{1, 0};  // group 1, all channels
        if (a.putAndInsertUint16Array(DCM_ReferencedWaveformChannels, refs.data(), 2).bad())
            throw std::logic_error("cannot set ReferencedWaveformChannels");
        put(a, DCM_NumericValue, ds_value(m.value));
    }
}

std::vector<std::byte> encode(DcmDataset& ds, const DicomEcgResult& r) {
    dicom::MetaInfo meta;
    meta.sop_class_uid = r.sop_class_uid;
    meta.sop_instance_uid = r.sop_instance_uid;
    meta.transfer_syntax_uid = std::string(kExplicitLittle);
    std::vector<std::byte> out = dicom::encode_part10_header(meta);
    dicom::write_dataset(ds, EXS_LittleEndianExplicit, out);
    return out;
}

}  // namespace

std::string derived_uid(std::string_view seed, std::string_view role) {
    std::string input(seed);
    input += '/';
    input += role;
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    unsigned __int128 v = 0;
    for (std::size_t i = 0; i < 16; ++i) v = (v << 8) | digest[i];
    return "2.25." + decimal(v);
}

DicomEcgResult to_dicom_ecg(const Waveform& w, const DicomEcgOptions& o) {
    DicomEcgResult r;
    std::size_t samples = 0;
    for (const auto& l : w.leads) samples = std::max(samples, l.microvolts.size());
    if (w.leads.empty() || samples == 0) {
        r.error = "no samples to convert";
        return r;
    }
    if (!(w.sample_rate_hz > 0)) {
        r.error = "no sample rate";
        return r;
    }
    const auto iod = choose_iod(w, samples);
    if (!iod) {
        r.error = std::to_string(w.leads.size()) + " leads at " + ds_value(w.sample_rate_hz) +
                  " Hz fit no DICOM ECG object (12-lead/General: 200-1000 Hz, up to 24 leads; "
                  "Ambulatory: 50-1000 Hz, up to 12 leads and 24 hours)";
        return r;
    }
    if (samples * w.leads.size() > kMaxTotalSamples) {
        r.error = std::to_string(w.leads.size()) + " leads x " + std::to_string(samples) +
                  " samples: more than " + std::to_string(kMaxTotalSamples) + " in all";
        return r;
    }
    const auto when =
        dicom_datetime(!w.acquisition_time.empty() ? w.acquisition_time : o.fallback_time);
    if (!when) {
        r.error = "no acquisition time in the waveform and no usable fallback time";
        return r;
    }
    const bool derive =
        o.study_instance_uid.empty() || o.series_instance_uid.empty() || o.sop_instance_uid.empty();
    if (derive && o.uid_seed.empty()) {
        r.error = "a UID to derive but no uid_seed";
        return r;
    }
    r.iod = std::string(iod->name);
    r.sop_class_uid = std::string(iod->uid);
    r.study_instance_uid =
        o.study_instance_uid.empty() ? derived_uid(o.uid_seed, "study") : o.study_instance_uid;
    r.series_instance_uid =
        o.series_instance_uid.empty() ? derived_uid(o.uid_seed, "series") : o.series_instance_uid;
    r.sop_instance_uid =
        o.sop_instance_uid.empty() ? derived_uid(o.uid_seed, "instance") : o.sop_instance_uid;

    DcmDataset ds;
    put_identity(ds, w, o, *when, r);
    put_waveform(ds, w, samples, r);
    put_measurements(ds, w);
    r.bytes = encode(ds, r);
    return r;
}

}  // namespace countylink::codecs::ecg
