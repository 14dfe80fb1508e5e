// DICOM waveform objects (12-lead, General, Ambulatory ECG; Hemodynamic with ECG leads) into the
// waveform model, via DCMTK. The rhythm multiplex group is read; every declared size is checked
// against the bytes present before anything is allocated.
#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcfcache.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "codecs/dicom/deferring_stream.hpp"
#include "codecs/dicom/part10.hpp"
#include "codecs/ecg/lead_codes.hpp"
#include "codecs/ecg/read.hpp"
#include "codecs/io/file.hpp"

namespace countylink::codecs::ecg {

namespace {

// Values longer than this stay in the file until the waveform reader asks for them.
constexpr Uint32 kMaxReadLength = 4096;
// Text values longer than this are not read (a name or UID never is).
constexpr Uint32 kMaxTextLength = 1024;
// A deflated upload may not inflate beyond this: every sample at 32 bits, plus headers.
// Measurements beyond this many annotations are not read.
constexpr std::size_t kMaxMeasurements = 512;
// WaveformData is copied out in pieces of about this size.
constexpr std::size_t kChunkBytes = 1 << 20;

struct SopClass {
    std::string_view uid;
    std::string_view name;
};

// The waveform SOP classes whose channels can be surface ECG leads.
constexpr std::array<SopClass, 4> kEcgClasses{{
    {"1.2.840.10008.5.1.4.1.1.9.1.1", "12-lead ECG"},
    {"1.2.840.10008.5.1.4.1.1.9.1.2", "General ECG"},
    {"1.2.840.10008.5.1.4.1.1.9.1.3", "Ambulatory ECG"},
    {"1.2.840.10008.5.1.4.1.1.9.2.1", "Hemodynamic"},
}};

std::string trim(std::string_view s) {
    const auto pad = [](char c) { return c == ' ' || c == '\0' || c == '\t' || c == '\r'; };
    while (!s.empty() && pad(s.front())) s.remove_prefix(1);
    while (!s.empty() && pad(s.back())) s.remove_suffix(1);
    return std::string(s);
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// Compact decimal for reasons: 1000000, 0.5, 1e+12.
std::string num(double v) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.10g", v);
    return buf.data();
}

DcmElement* find(DcmItem& item, const DcmTagKey& key) {
    DcmElement* elem = nullptr;
    if (item.findAndGetElement(key, elem, OFFalse).bad()) return nullptr;
    return elem;
}

// The whole (multi-)value as text, trimmed; empty when absent or longer than kMaxTextLength.
std::string text(DcmItem& item, const DcmTagKey& key) {
    DcmElement* elem = find(item, key);
    if (elem == nullptr || elem->getLengthField() > kMaxTextLength) return {};
    OFString value;
    if (elem->getOFStringArray(value).bad()) return {};
    return trim(value.c_str());
}

// The first value of a numeric element of any VR (US, UL, SS, SL, IS, DS, FL, FD); nullopt when
// absent, empty or not a number. A count sent with an unexpected VR is still read and bounded.
std::optional<double> number(DcmItem& item, const DcmTagKey& key) {
    DcmElement* elem = find(item, key);
    if (elem == nullptr || elem->getLengthField() == 0 || elem->getLengthField() > kMaxTextLength)
        return std::nullopt;
    switch (elem->ident()) {
        case EVR_US: {
            Uint16 v = 0;
            if (elem->getUint16(v).good()) return v;
            break;
        }
        case EVR_UL: {
            Uint32 v = 0;
            if (elem->getUint32(v).good()) return v;
            break;
        }
        case EVR_SS: {
            Sint16 v = 0;
            if (elem->getSint16(v).good()) return v;
            break;
        }
        case EVR_SL:
        case EVR_IS: {
            Sint32 v = 0;
            if (elem->getSint32(v).good()) return v;
            break;
        }
        case EVR_FL: {
            Float32 v = 0;
            if (elem->getFloat32(v).good() && std::isfinite(v)) return v;
            break;
        }
        case EVR_DS:
        case EVR_FD: {
            Float64 v = 0;
            if (elem->getFloat64(v).good() && std::isfinite(v)) return v;
            break;
        }
        default:
            break;
    }
    return std::nullopt;
}

struct Code {
    std::string value, scheme, meaning;
};

// The first item of a code sequence; empty fields when absent.
Code code(DcmItem& item, const DcmTagKey& sequence) {
    DcmItem* first = nullptr;
    if (item.findAndGetSequenceItem(sequence, first, 0).bad() || first == nullptr) return {};
    return {text(*first, DCM_CodeValue), text(*first, DCM_CodingSchemeDesignator),
            text(*first, DCM_CodeMeaning)};
}

DcmSequenceOfItems* sequence(DcmItem& item, const DcmTagKey& key) {
    DcmSequenceOfItems* seq = nullptr;
    if (item.findAndGetSequence(key, seq).bad()) return nullptr;
    return seq;
}

// DICOM DT or DA + TM ("20130125105919.123+0100") to "2013-01-25T10:59:19"; empty if no date.
std::string iso_datetime(std::string_view dt) {
    std::string digits;
    for (char c : dt) {
        if (c < '0' || c > '9') break;
        digits += c;
    }
    if (digits.size() < 8) return {};
    std::string out = digits.substr(0, 4) + "-" + digits.substr(4, 2) + "-" + digits.substr(6, 2);
    if (digits.size() >= 12) {
        out += "T" + digits.substr(8, 2) + ":" + digits.substr(10, 2);
        out += ":" + (digits.size() >= 14 ? digits.substr(12, 2) : std::string("00"));
    }
    return out;
}

// Microvolts per unit of a Channel Sensitivity Units code; nullopt for non-voltage units.
std::optional<double> microvolts_per_unit(const Code& unit) {
    if (unit.value.empty() && unit.meaning.empty()) return 1.0;  // absent: ECG writers use uV
    const std::string v = unit.value;
    if (v == "uV") return 1.0;
    if (v == "mV") return 1000.0;
    if (v == "V") return 1e6;
    if (v == "nV") return 1e-3;
    return std::nullopt;
}

// --- multiplex groups ----------------------------------------------------------------------------

struct GroupHeader {
    DcmItem* item = nullptr;
    std::size_t number = 0;  // 1-based, as annotations reference it
    std::string label;
    double rate = 0;
    double samples = 0;
    bool median = false;
};

// The group to read as rhythm: one labelled RHYTHM, else the longest that is not a median beat.
const GroupHeader* choose_rhythm(const std::vector<GroupHeader>& groups) {
    const GroupHeader* best = nullptr;
    for (const auto& g : groups) {
        if (g.median) continue;
        if (g.label == "RHYTHM") return &g;
        const double duration = g.rate > 0 ? g.samples / g.rate : 0;
        const double best_duration = best && best->rate > 0 ? best->samples / best->rate : -1;
        if (!best || duration > best_duration) best = &g;
    }
    return best;
}

struct Channel {
    std::string name;
    bool voltage = true;
    std::string unit;  // the code value, for a reason when no channel is a voltage
    double scale = 1;  // microvolts per count: sensitivity x correction x unit
    double baseline_uv = 0;
    long skew_samples = 0;
};

// Lead name of one channel definition: coded source, else its meaning, else the label.
std::string channel_name(DcmItem& def, std::size_t index) {
    const Code source = code(def, DCM_ChannelSourceSequence);
    if (auto lead = lead_from_code(source.scheme, source.value)) return *lead;
    if (!source.meaning.empty() && upper(source.meaning) != "UNSPECIFIED LEAD") {
        // "Lead aVR, augmented voltage, right" -> "aVR"
        return standard_lead_name(source.meaning.substr(0, source.meaning.find(',')));
    }
    const std::string label = text(def, DCM_ChannelLabel);
    if (!label.empty()) return standard_lead_name(label);
    return "channel " + std::to_string(index + 1);
}

struct Layout {
    std::size_t channels = 0, samples = 0, bytes_per_sample = 0;
    bool is_signed = true;
};

// Reads the chosen group's samples into `leads` (one per voltage channel, same order).
std::optional<ParseError> decode_samples(DcmElement& data, const Layout& layout,
                                         const std::vector<Channel>& channels,
                                         std::vector<Lead>& leads) {
    const std::size_t frame_bytes = layout.channels * layout.bytes_per_sample;
    const std::size_t frames_per_chunk = std::max<std::size_t>(1, kChunkBytes / frame_bytes);
    std::vector<unsigned char> chunk(frames_per_chunk * frame_bytes);
    DcmFileCache cache;
    for (std::size_t first = 0; first < layout.samples; first += frames_per_chunk) {
        const std::size_t frames = std::min(frames_per_chunk, layout.samples - first);
        const OFCondition status = data.getPartialValue(
            chunk.data(), static_cast<Uint32>(first * frame_bytes),
            static_cast<Uint32>(frames * frame_bytes), &cache, EBO_LittleEndian);
        if (status.bad()) {
            return ParseError{ErrorKind::malformed,
                              std::string("cannot read WaveformData: ") + status.text()};
        }
        for (std::size_t f = 0; f < frames; ++f) {
            const unsigned char* frame = chunk.data() + f * frame_bytes;
            std::size_t lead = 0;
            for (std::size_t c = 0; c < layout.channels; ++c) {
                if (!channels[c].voltage) continue;
                const unsigned char* p = frame + c * layout.bytes_per_sample;
                std::int64_t raw = 0;
                switch (layout.bytes_per_sample) {
                    case 1:
                        raw = layout.is_signed ? std::int64_t(static_cast<std::int8_t>(p[0]))
                                               : std::int64_t(p[0]);
                        break;
                    case 2: {
                        const auto u = static_cast<std::uint16_t>(p[0] | p[1] << 8);
                        raw = layout.is_signed ? std::int64_t(static_cast<std::int16_t>(u))
                                               : std::int64_t(u);
                        break;
                    }
                    default: {
                        const std::uint32_t u = std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                                                std::uint32_t(p[2]) << 16 |
                                                std::uint32_t(p[3]) << 24;
                        raw = layout.is_signed ? std::int64_t(static_cast<std::int32_t>(u))
                                               : std::int64_t(u);
                        break;
                    }
                }
                leads[lead++].microvolts.push_back(static_cast<float>(
                    static_cast<double>(raw) * channels[c].scale + channels[c].baseline_uv));
            }
        }
    }
    return std::nullopt;
}

// Shifts a lead by its skew so that every lead's sample k is taken at the group's time k/rate:
// a lead sampled `skew` samples late moves right (its first value repeated in front), an early
// one moves left (its last value repeated at the end). The length stays the same.
void apply_skew(Lead& lead, long skew) {
    auto& v = lead.microvolts;
    if (skew == 0 || v.empty()) return;
    const auto n = static_cast<long>(v.size());
    if (skew > 0) {
        std::rotate(v.begin(), v.end() - skew, v.end());
        std::fill(v.begin(), v.begin() + skew, v[static_cast<std::size_t>(skew)]);
    } else {
        std::rotate(v.begin(), v.begin() - skew, v.end());
        std::fill(v.end() + skew, v.end(), v[static_cast<std::size_t>(n + skew - 1)]);
    }
}

ParseResult fail(ErrorKind kind, std::string reason) {
    return ParseResult::fail(kind, std::move(reason));
}

// Reads the rhythm group of `ds` into `w`.
ParseResult read_group(DcmItem& group, Waveform w, std::vector<std::string>& names) {
    const auto channels_declared = number(group, DCM_NumberOfWaveformChannels);
    const auto samples_declared = number(group, DCM_NumberOfWaveformSamples);
    const auto rate = number(group, DCM_SamplingFrequency);
    if (!channels_declared || *channels_declared < 1)
        return fail(ErrorKind::malformed, "NumberOfWaveformChannels missing or 0");
    if (*channels_declared > kMaxLeads)
        return fail(ErrorKind::too_large, num(*channels_declared) + " channels declared (limit " +
                                              std::to_string(kMaxLeads) + ")");
    if (!samples_declared || *samples_declared < 1)
        return fail(ErrorKind::malformed, "NumberOfWaveformSamples missing or 0");
    if (*channels_declared * *samples_declared > static_cast<double>(kMaxTotalSamples))
        return fail(ErrorKind::too_large, num(*channels_declared) + " channels x " +
                                              num(*samples_declared) + " samples declared (limit " +
                                              std::to_string(kMaxTotalSamples) +
                                              " samples in all)");
    if (!rate || !(*rate > 0) || *rate > 1e6)
        return fail(ErrorKind::malformed, "SamplingFrequency missing or not in (0, 1 MHz]");

    Layout layout;
    layout.channels = static_cast<std::size_t>(*channels_declared);
    layout.samples = static_cast<std::size_t>(*samples_declared);
    const auto bits = number(group, DCM_WaveformBitsAllocated);
    const std::string interpretation = text(group, DCM_WaveformSampleInterpretation);
    if (!bits) return fail(ErrorKind::malformed, "WaveformBitsAllocated missing");
    if (*bits != 8 && *bits != 16 && *bits != 32)
        return fail(ErrorKind::unsupported,
                    "WaveformBitsAllocated " + num(*bits) + ": only 8, 16 and 32 are read");
    layout.bytes_per_sample = static_cast<std::size_t>(*bits) / 8;
    if (interpretation == "MB" || interpretation == "AB")
        return fail(ErrorKind::unsupported, "WaveformSampleInterpretation " + interpretation +
                                                " (" + (interpretation == "MB" ? "mu" : "A") +
                                                "-law) is not decoded");
    static const std::array<std::pair<std::string_view, int>, 6> kInterpretations{
        {{"SB", 8}, {"UB", 8}, {"SS", 16}, {"US", 16}, {"SL", 32}, {"UL", 32}}};
    const auto known = std::find_if(kInterpretations.begin(), kInterpretations.end(),
                                    [&](const auto& k) { return k.first == interpretation; });
    if (known == kInterpretations.end())
        return fail(ErrorKind::unsupported, "WaveformSampleInterpretation \"" +
                                                interpretation.substr(0, 16) +
                                                "\" is not read (SB, UB, SS, US, SL, UL are)");
    if (known->second != *bits)
        return fail(ErrorKind::malformed, "WaveformSampleInterpretation " + interpretation +
                                              " with WaveformBitsAllocated " + num(*bits));
    layout.is_signed = interpretation.front() == 'S';

    // The data must hold exactly what the counts declare (one pad byte allowed for odd lengths).
    DcmElement* data = find(group, DCM_WaveformData);
    if (data == nullptr) return fail(ErrorKind::malformed, "WaveformData missing");
    const std::uint64_t need =
        std::uint64_t(layout.channels) * layout.samples * layout.bytes_per_sample;
    const std::uint64_t have = data->getLengthField();
    const std::string sizes = std::to_string(layout.channels) + " channels x " +
                              std::to_string(layout.samples) + " samples x " +
                              std::to_string(layout.bytes_per_sample) +
                              " bytes = " + std::to_string(need);
    if (have == DCM_UndefinedLength || have < need)
        return fail(ErrorKind::malformed,
                    "WaveformData holds " + std::to_string(have) + " bytes, declared " + sizes);
    if (have > need + 1)
        return fail(ErrorKind::malformed, "WaveformData holds " + std::to_string(have) +
                                              " bytes, more than declared " + sizes);

    DcmSequenceOfItems* defs = sequence(group, DCM_ChannelDefinitionSequence);
    const std::size_t def_count = defs ? defs->card() : 0;
    if (def_count != layout.channels)
        return fail(ErrorKind::malformed, "ChannelDefinitionSequence has " +
                                              std::to_string(def_count) + " items for " +
                                              std::to_string(layout.channels) + " channels");
    std::vector<Channel> channels(layout.channels);
    std::vector<std::string> other_units;
    for (std::size_t c = 0; c < layout.channels; ++c) {
        DcmItem& def = *defs->getItem(static_cast<unsigned long>(c));
        Channel& ch = channels[c];
        ch.name = channel_name(def, c);
        const Code unit = code(def, DCM_ChannelSensitivityUnitsSequence);
        const auto uv = microvolts_per_unit(unit);
        if (!uv) {
            ch.voltage = false;
            if (other_units.size() < 3) other_units.push_back(unit.value);
            continue;
        }
        const auto sensitivity = number(def, DCM_ChannelSensitivity);
        if (!sensitivity || *sensitivity == 0)
            return fail(ErrorKind::unsupported,
                        "channel " + std::to_string(c + 1) + " (" + ch.name +
                            ") has no ChannelSensitivity: its amplitude is unknown");
        const double correction = number(def, DCM_ChannelSensitivityCorrectionFactor).value_or(1);
        // PS3.3 C.10.9.1.4.3: the baseline is the actual value of sample 0, in the units.
        const double baseline = number(def, DCM_ChannelBaseline).value_or(0);
        ch.scale = *sensitivity * correction * *uv;
        ch.baseline_uv = baseline * *uv;
        double skew = number(def, DCM_ChannelSampleSkew).value_or(0);
        if (skew == 0) skew = number(def, DCM_ChannelTimeSkew).value_or(0) * *rate;
        if (!(std::fabs(std::nearbyint(skew)) < static_cast<double>(layout.samples)))
            return fail(ErrorKind::malformed, "channel " + std::to_string(c + 1) + " skew of " +
                                                  num(skew) + " samples exceeds the group");
        ch.skew_samples = std::lround(skew);
    }
    std::vector<Lead> leads;
    for (const auto& ch : channels) {
        if (!ch.voltage) continue;
        leads.push_back(Lead{ch.name, {}});
        leads.back().microvolts.reserve(layout.samples);
    }
    if (leads.empty()) {
        std::string units;
        for (const auto& u : other_units) units += (units.empty() ? "" : ", ") + u;
        return fail(ErrorKind::unsupported,
                    "no ECG (voltage) channel in the waveform; units: " + units);
    }
    if (auto error = decode_samples(*data, layout, channels, leads))
        return fail(error->kind, error->reason);
    std::size_t lead = 0;
    for (const auto& ch : channels) {
        if (!ch.voltage) continue;
        apply_skew(leads[lead++], ch.skew_samples);
        if (ch.skew_samples != 0)
            w.notes.push_back(ch.name + " shifted by its skew of " +
                              std::to_string(ch.skew_samples) + " samples");
    }
    if (!other_units.empty()) {
        std::string units;
        for (const auto& u : other_units) units += (units.empty() ? "" : ", ") + u;
        w.notes.push_back(std::to_string(layout.channels - leads.size()) +
                          " channel(s) that are not voltages left out (units: " + units + ")");
    }
    for (const auto& ch : channels) names.push_back(ch.voltage ? ch.name : std::string());
    w.sample_rate_hz = *rate;
    w.leads = std::move(leads);
    ParseResult out;
    out.waveform = std::move(w);
    return out;
}

// Numeric annotations: the device's own measurements (intervals, axes, rate).
void read_measurements(DcmItem& ds, std::size_t rhythm_group,
                       const std::vector<std::string>& channel_names, Waveform& w) {
    DcmSequenceOfItems* annotations = sequence(ds, DCM_WaveformAnnotationSequence);
    if (annotations == nullptr) return;
    for (unsigned long i = 0; i < annotations->card() && w.measurements.size() < kMaxMeasurements;
         ++i) {
        DcmItem& a = *annotations->getItem(i);
        const auto value = number(a, DCM_NumericValue);
        if (!value) continue;
        const Code concept_name = code(a, DCM_ConceptNameCodeSequence);
        Measurement m;
        m.name = !concept_name.meaning.empty() ? concept_name.meaning : concept_name.value;
        if (m.name.empty()) continue;
        m.value = *value;
        m.unit = code(a, DCM_MeasurementUnitsCodeSequence).value;
        // A measurement on one channel names its lead: "R amplitude (V5)".
        DcmElement* refs = find(a, DCM_ReferencedWaveformChannels);
        Uint16 group = 0, channel = 0;
        if (refs != nullptr && refs->getVM() == 2 && refs->getUint16(group, 0).good() &&
            refs->getUint16(channel, 1).good() && channel != 0) {
            if (group == rhythm_group && channel <= channel_names.size() &&
                !channel_names[channel - 1u].empty()) {
                m.name += " (" + channel_names[channel - 1u] + ")";
            } else {
                m.name += " (group " + std::to_string(group) + " channel " +
                          std::to_string(channel) + ")";
            }
        }
        w.measurements.push_back(std::move(m));
    }
}

ParseResult read_dataset(DcmItem& ds) {
    const std::string sop_class = text(ds, DCM_SOPClassUID);
    const auto known = std::find_if(kEcgClasses.begin(), kEcgClasses.end(),
                                    [&](const SopClass& c) { return c.uid == sop_class; });
    if (sop_class.empty()) return fail(ErrorKind::malformed, "SOPClassUID missing");
    if (known == kEcgClasses.end())
        return fail(ErrorKind::unsupported,
                    "SOP class " + sop_class.substr(0, 64) + " is not an ECG waveform object");

    DcmSequenceOfItems* seq = sequence(ds, DCM_WaveformSequence);
    if (seq == nullptr || seq->card() == 0)
        return fail(ErrorKind::malformed, "WaveformSequence missing or empty");
    std::vector<GroupHeader> groups;
    for (unsigned long i = 0; i < seq->card(); ++i) {
        GroupHeader g;
        g.item = seq->getItem(i);
        g.number = i + 1;
        g.label = upper(text(*g.item, DCM_MultiplexGroupLabel));
        g.rate = number(*g.item, DCM_SamplingFrequency).value_or(0);
        g.samples = number(*g.item, DCM_NumberOfWaveformSamples).value_or(0);
        g.median = g.label.find("MEDIAN") != std::string::npos;
        groups.push_back(std::move(g));
    }
    const GroupHeader* rhythm = choose_rhythm(groups);
    if (rhythm == nullptr)
        return fail(ErrorKind::unsupported, "only median-beat multiplex groups, no rhythm");

    // The model's text is UTF-8; a set DCMTK cannot convert leaves the values as sent.
    const std::string charset = text(ds, DCM_SpecificCharacterSet);
    if (!charset.empty() && charset != "ISO_IR 192") static_cast<void>(ds.convertToUTF8());

    Waveform w;
    w.format = Format::dicom;
    w.patient_id = text(ds, DCM_PatientID);
    w.patient_name = text(ds, DCM_PatientName);
    w.patient_birth_date = text(ds, DCM_PatientBirthDate);
    w.patient_sex = text(ds, DCM_PatientSex);
    w.order_id = text(ds, DCM_AccessionNumber);
    w.device_manufacturer = text(ds, DCM_Manufacturer);
    w.device_model = text(ds, DCM_ManufacturerModelName);
    w.acquisition_time = iso_datetime(text(ds, DCM_AcquisitionDateTime));
    if (w.acquisition_time.empty())
        w.acquisition_time = iso_datetime(text(ds, DCM_ContentDate) + text(ds, DCM_ContentTime));

    std::vector<std::string> names;
    ParseResult result = read_group(*rhythm->item, std::move(w), names);
    if (!result.ok()) {
        if (seq->card() > 1)
            result.error.reason += " (multiplex group " + std::to_string(rhythm->number) + ")";
        return result;
    }
    read_measurements(ds, rhythm->number, names, *result.waveform);
    if (groups.size() > 5) {
        result.waveform->notes.push_back(std::to_string(groups.size() - 1) +
                                         " other multiplex groups not read");
        return result;
    }
    for (const auto& g : groups) {
        if (&g == rhythm) continue;
        result.waveform->notes.push_back("multiplex group " + std::to_string(g.number) + " (" +
                                         (g.label.empty() ? "unlabelled" : g.label.substr(0, 16)) +
                                         ") not read: group " + std::to_string(rhythm->number) +
                                         " is the rhythm");
    }
    return result;
}

}  // namespace

// DCMTK allocates a value's declared length before reading it when the stream cannot defer
// it (memory buffers cannot), so a 4 GB length in a small upload would allocate 4 GB (found by
// fuzzing). Bytes in memory are therefore read through a private temporary file, where large
// values stay on disk and a length beyond the end is a parse error.
ParseResult read_dicom_ecg(std::span<const std::byte> bytes) {
    if (!dicom::read_part10_start(bytes))
        return fail(ErrorKind::malformed,
                    "not a DICOM Part-10 file (no DICM prefix or a broken meta group)");
    std::string name = (std::filesystem::temp_directory_path() / "countylink-ecg-XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp");
    struct Remove {
        const std::string& path;
        ~Remove() { ::unlink(path.c_str()); }
    } remove{name};
    io::UniqueFd file(fd);
    io::write_all(file.get(), bytes);
    return read_dicom_ecg_file(name);
}

ParseResult read_dicom_ecg_file(const std::filesystem::path& path) {
    {
        std::array<char, 132> head{};
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot open " + path.string());
        in.read(head.data(), head.size());
        if (in.gcount() != static_cast<std::streamsize>(head.size()) ||
            std::string_view(head.data() + 128, 4) != "DICM")
            return fail(ErrorKind::malformed, "not a DICOM Part-10 file (no DICM prefix)");
    }
    DcmFileFormat file;
    dicom::DeferringFileStream stream{OFFilename(path.c_str())};
    if (stream.status().bad()) throw std::runtime_error("cannot open " + path.string());
    file.setReadMode(ERM_fileOnly);
    file.transferInit();
    const OFCondition status = file.read(stream, EXS_Unknown, EGL_noChange, kMaxReadLength);
    file.transferEnd();
    if (status.bad())
        return fail(ErrorKind::malformed, std::string("cannot parse DICOM: ") + status.text());
    return read_dataset(*file.getDataset());
}

}  // namespace countylink::codecs::ecg
