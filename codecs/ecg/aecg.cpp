// HL7 annotated ECG (PORT_MT020001): AnnotatedECG / component / series / component / sequenceSet
// / component / sequence. One sequence is the time axis (GLIST_TS head + increment), the others
// are leads (SLIST_PQ: value = origin + scale * digit). Derived series (median beats) sit under
// series/derivation and are never read as the rhythm.
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "codecs/ecg/read.hpp"
#include "codecs/ecg/xml_document.hpp"

namespace countylink::codecs::ecg {
namespace {

ParseResult fail(ErrorKind kind, const std::string& reason) {
    return ParseResult::fail(kind, "HL7 aECG: " + reason);
}

// HL7 TS "YYYYMMDD[HH[MM[SS[.fff]]]][+ZZZZ]" as ISO 8601; "" when it is not one.
std::string iso_from_ts(std::string_view ts) {
    std::size_t digits = 0;
    while (digits < ts.size() && std::isdigit(static_cast<unsigned char>(ts[digits]))) ++digits;
    if (digits < 8) return {};
    // Built by appending: GCC 12 warns falsely (-Wrestrict) on chains of string operator+.
    std::string out;
    auto put = [&](std::size_t at, char before) {
        if (before) out.push_back(before);
        if (digits >= at + 2)
            out.append(ts.substr(at, 2));
        else
            out.append("00");
    };
    out.append(ts.substr(0, 4));
    put(4, '-');
    put(6, '-');
    if (digits >= 10) {
        put(8, 'T');
        put(10, ':');
        put(12, ':');
    }
    return out;
}

// Microvolts in one of the unit a PQ names (UCUM); nullopt for anything not a voltage.
std::optional<double> microvolts_per(std::string_view unit) {
    if (unit == "uV" || unit == "\xC2\xB5V") return 1.0;
    if (unit == "mV") return 1000.0;
    if (unit == "nV") return 0.001;
    if (unit == "V") return 1e6;
    return std::nullopt;
}

// Seconds in one of the time units an increment uses.
std::optional<double> seconds_per(std::string_view unit) {
    if (unit == "s") return 1.0;
    if (unit == "ms") return 1e-3;
    if (unit == "us") return 1e-6;
    return std::nullopt;
}

// A PQ element (origin, scale) in microvolts.
std::optional<double> pq_microvolts(const XmlElement& pq) {
    auto value = parse_number(pq.attr("value"));
    auto per = microvolts_per(pq.attr("unit"));
    if (!value || !per) return std::nullopt;
    return *value * *per;
}

std::size_t count_tokens(std::string_view text) {
    std::size_t n = 0;
    bool in_token = false;
    for (char c : text) {
        bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
        if (!space && !in_token) ++n;
        in_token = !space;
    }
    return n;
}

// The rhythm series: the one coded RHYTHM, else the first series at all.
XmlElement rhythm_series(const XmlElement& root) {
    XmlElement first;
    for (const auto& component : root.children("component")) {
        XmlElement series = component.child("series");
        if (!series) continue;
        if (series.child("code").attr("code") == "RHYTHM") return series;
        if (!first) first = series;
    }
    return first;
}

struct LeadSource {
    std::string name;
    double origin_uv = 0;
    double scale_uv = 0;
    std::string digits;
    XmlElement element;
};

void read_demographics(const XmlElement& root, const XmlElement& series, Waveform& w) {
    XmlElement subject = root.path({"componentOf", "timepointEvent", "componentOf",
                                    "subjectAssignment", "subject", "trialSubject"});
    w.patient_id = subject.child("id").attr("extension");
    XmlElement person = subject.child("subjectDemographicPerson");
    w.patient_name = person.child("name").trimmed_text();
    w.patient_sex = person.child("administrativeGenderCode").attr("code");
    w.patient_birth_date = iso_from_ts(person.child("birthTime").attr("value"));
    XmlElement author = series.path({"author", "seriesAuthor"});
    w.device_model =
        author.path({"manufacturedSeriesDevice", "manufacturerModelName"}).trimmed_text();
    w.device_manufacturer = author.path({"manufacturerOrganization", "name"}).trimmed_text();
}

// Whole-recording measurements: annotations directly under the series' first annotation set
// whose value is a physical quantity (heart rate, PR, QRS, QT, QTc ...). Per-beat ones nested
// deeper are not the device's summary and are left out.
// The common MDC codes under the names the other formats' readers use, so a measurement reads
// the same whatever format carried it; other codes keep their MDC name.
constexpr XmlMeasurementField kMeasurementNames[] = {
    {"MDC_ECG_HEART_RATE", "Ventricular rate", "/min"},
    {"MDC_ECG_TIME_PD_RR", "RR interval", "ms"},
    {"MDC_ECG_TIME_PD_P", "P duration", "ms"},
    {"MDC_ECG_TIME_PD_PR", "PR interval", "ms"},
    {"MDC_ECG_TIME_PD_QRS", "QRS duration", "ms"},
    {"MDC_ECG_TIME_PD_QT", "QT interval", "ms"},
    {"MDC_ECG_TIME_PD_QTc", "QTc", "ms"},
    {"MDC_ECG_TIME_PD_QTcB", "QTc", "ms"},
    {"MDC_ECG_TIME_PD_QTcF", "QTc Fridericia", "ms"},
    {"MDC_ECG_ANGLE_P_FRONT", "P axis", "deg"},
    {"MDC_ECG_ANGLE_QRS_FRONT", "QRS axis", "deg"},
    {"MDC_ECG_ANGLE_T_FRONT", "T axis", "deg"},
};

void read_measurements(const XmlElement& series, Waveform& w) {
    for (const auto& subject_of : series.children("subjectOf")) {
        XmlElement set = subject_of.child("annotationSet");
        if (!set) continue;
        for (const auto& component : set.children("component")) {
            XmlElement annotation = component.child("annotation");
            XmlElement value = annotation.child("value");
            if (value.attr("type") != "PQ") continue;
            auto number = parse_number(value.attr("value"));
            std::string code = annotation.child("code").attr("code");
            if (!number || code.empty()) continue;
            Measurement m{code, *number, value.attr("unit")};
            for (const auto& known : kMeasurementNames)
                if (code == known.element) m.name = known.name;
            // Writers leave out "ms" on intervals; an MDC time period is in ms by definition.
            if (m.unit.empty() && code.starts_with("MDC_ECG_TIME_PD_")) m.unit = "ms";
            w.measurements.push_back(std::move(m));
        }
        return;
    }
}

}  // namespace

ParseResult read_aecg(std::span<const std::byte> bytes) {
    XmlParseResult xml = XmlDocument::parse(bytes, "AnnotatedECG");
    if (!xml.document) return fail(xml.error.kind, xml.error.reason);
    XmlElement root = xml.document->root();

    XmlElement series = rhythm_series(root);
    if (!series)
        return fail(ErrorKind::malformed,
                    "AnnotatedECG has no component/series (no waveforms)" + root.where());
    XmlElement set = series.path({"component", "sequenceSet"});
    if (!set) return fail(ErrorKind::malformed, "series has no sequenceSet" + series.where());

    Waveform w;
    w.format = Format::hl7_aecg;
    std::vector<LeadSource> sources;
    std::set<std::string> seen;
    std::size_t total = 0;
    for (const auto& component : set.children("component")) {
        XmlElement seq = component.child("sequence");
        if (!seq) continue;
        std::string code = seq.child("code").attr("code");
        XmlElement value = seq.child("value");
        std::string type = value.attr("type");
        if (code.starts_with("TIME_")) {
            if (type != "GLIST_TS" && type != "GLIST_PQ")
                return fail(ErrorKind::unsupported,
                            "time sequence of type '" + type +
                                "' (only regularly sampled GLIST time axes are read)" +
                                value.where());
            XmlElement increment = value.child("increment");
            auto step = parse_number(increment.attr("value"));
            auto unit = seconds_per(increment.attr("unit"));
            // 10 us is 100 kHz, far above any ECG: smaller steps are nonsense, not data.
            if (!step || !unit || *step * *unit < 1e-5)
                return fail(ErrorKind::malformed, "time increment '" + increment.attr("value") +
                                                      " " + increment.attr("unit") +
                                                      "' is not a plausible sample interval" +
                                                      increment.where());
            w.sample_rate_hz = 1.0 / (*step * *unit);
            if (code == "TIME_ABSOLUTE")
                w.acquisition_time = iso_from_ts(value.child("head").attr("value"));
            continue;
        }
        if (type != "SLIST_PQ") continue;  // e.g. annotations carried as sequences
        LeadSource lead;
        lead.name = standard_lead_name(code);
        lead.element = seq;
        auto origin = value.child("origin") ? pq_microvolts(value.child("origin")) : 0.0;
        auto scale = pq_microvolts(value.child("scale"));
        if (!origin || !scale || *scale == 0)
            return fail(ErrorKind::malformed,
                        "lead " + lead.name +
                            ": origin/scale must be numbers with a voltage unit (uV, mV)" +
                            value.where());
        lead.origin_uv = *origin;
        lead.scale_uv = *scale;
        lead.digits = value.child("digits").text();
        if (!seen.insert(lead.name).second) continue;  // a repeated lead: the first one counts
        if (sources.size() == kMaxLeads)
            return fail(ErrorKind::too_large,
                        "more than " + std::to_string(kMaxLeads) + " leads" + seq.where());
        total += count_tokens(lead.digits);
        if (total > kMaxTotalSamples)
            return fail(ErrorKind::too_large, "more than " + std::to_string(kMaxTotalSamples) +
                                                  " samples in all leads" + seq.where());
        sources.push_back(std::move(lead));
    }
    if (w.sample_rate_hz <= 0)
        return fail(ErrorKind::malformed, "sequenceSet has no time sequence" + set.where());
    if (sources.empty())
        return fail(ErrorKind::malformed, "sequenceSet has no lead sequences" + set.where());

    for (const auto& source : sources) {
        Lead lead;
        lead.name = source.name;
        lead.microvolts.reserve(count_tokens(source.digits));
        const char* p = source.digits.data();
        const char* end = p + source.digits.size();
        while (p < end) {
            if (std::isspace(static_cast<unsigned char>(*p))) {
                ++p;
                continue;
            }
            long long digit = 0;
            auto [next, ec] = std::from_chars(p, end, digit);
            if (ec != std::errc() ||
                (next < end && !std::isspace(static_cast<unsigned char>(*next))))
                return fail(ErrorKind::malformed, "lead " + source.name + ": digit " +
                                                      std::to_string(lead.microvolts.size() + 1) +
                                                      " is not an integer" +
                                                      source.element.where());
            lead.microvolts.push_back(static_cast<float>(
                source.origin_uv + source.scale_uv * static_cast<double>(digit)));
            p = next;
        }
        w.leads.push_back(std::move(lead));
    }

    if (w.acquisition_time.empty())
        w.acquisition_time = iso_from_ts(series.path({"effectiveTime", "low"}).attr("value"));
    read_demographics(root, series, w);
    read_measurements(series, w);
    derive_limb_leads(w);
    ParseResult result;
    result.waveform = std::move(w);
    return result;
}

}  // namespace countylink::codecs::ecg
