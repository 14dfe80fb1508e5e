#include "gateway/ingest/ecg_gate.hpp"

#include <boost/json.hpp>

#include "codecs/ecg/read.hpp"

namespace countylink::ingest {

namespace ecg = codecs::ecg;
namespace json = boost::json;

std::string findings_json(const std::vector<ecg::QualityFinding>& findings) {
    json::array out;
    for (const auto& f : findings) {
        json::object o{{"code", f.code}, {"lead", f.lead}, {"reason", f.reason}};
        if (f.note) o["note"] = true;
        out.push_back(std::move(o));
    }
    return json::serialize(out);
}

namespace {

// The reasons a technician acts on, most important first, in one line.
std::string comment_for(const std::vector<ecg::QualityFinding>& findings) {
    std::string out = "ECG unacceptable: ";
    bool first = true;
    for (const auto& f : findings) {
        if (f.note) continue;  // beside the verdict, not a reason for the redo
        out += (first ? "" : "; ") + f.reason;
        first = false;
    }
    return out;
}

}  // namespace

ecg::QualityParams quality_params(const config::EcgSettings& settings) {
    ecg::QualityParams params;
    params.reversal_is_unacceptable = settings.reversal_is_unacceptable;
    params.hf_is_unacceptable = settings.muscle_noise_is_unacceptable;
    return params;
}

EcgAssessment assess_waveform(const ecg::Waveform& waveform, const ecg::QualityParams& params) {
    const ecg::QualityReport report = ecg::judge(ecg::measure(waveform), params);
    EcgAssessment out;
    out.findings = report.findings;
    out.unacceptable = report.verdict == ecg::Verdict::unacceptable;
    if (out.unacceptable) out.comment = comment_for(report.findings);
    auto& r = out.record;
    r.format = std::string(ecg::format_name(waveform.format));
    r.verdict = std::string(ecg::verdict_name(report.verdict));
    r.findings_json = findings_json(report.findings);
    r.heart_rate_bpm = report.heart_rate_bpm;
    r.sample_rate_hz = waveform.sample_rate_hz;
    r.duration_s = waveform.duration_s();
    r.leads = static_cast<int>(waveform.leads.size());
    return out;
}

EcgAssessment assess_unreadable(ecg::Format format, const ecg::ParseError& error) {
    EcgAssessment out;
    ecg::QualityFinding finding;
    finding.code = "unreadable";
    finding.reason = "waveform unreadable (" + error.reason + "): record again";
    out.findings.push_back(finding);
    out.unacceptable = true;
    out.comment = comment_for(out.findings);
    out.record.format = std::string(ecg::format_name(format));
    out.record.verdict = std::string(ecg::verdict_name(ecg::Verdict::unacceptable));
    out.record.findings_json = findings_json(out.findings);
    return out;
}

EcgAssessment assess_dicom_file(const std::filesystem::path& file,
                                const ecg::QualityParams& params) {
    const ecg::ParseResult parsed = ecg::read_dicom_ecg_file(file);
    if (!parsed.ok()) return assess_unreadable(ecg::Format::dicom, parsed.error);
    return assess_waveform(*parsed.waveform, params);
}

}  // namespace countylink::ingest
