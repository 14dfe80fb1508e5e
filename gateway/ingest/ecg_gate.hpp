// The ECG quality gate at ingest: read the waveform the sender gave us, judge it, and turn the
// verdict into what the index, the router and the sender's answer need.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "codecs/ecg/quality.hpp"
#include "codecs/ecg/waveform.hpp"
#include "config/config.hpp"
#include "gateway/store/index.hpp"

namespace countylink::ingest {

struct EcgAssessment {
    store::EcgRecord record;  // what the index keeps (verdict, findings, shape)
    std::vector<codecs::ecg::QualityFinding> findings;
    bool unacceptable = false;
    // For the sender: "ECG unacceptable: V3 flat: check electrode; ..." (empty if acceptable).
    std::string comment;
};

// The shipped thresholds, with the site's choice of which notes are reasons for a redo.
codecs::ecg::QualityParams quality_params(const config::EcgSettings& settings);

// Runs the quality gate on a waveform read from a file of `format`.
EcgAssessment assess_waveform(const codecs::ecg::Waveform& waveform,
                              const codecs::ecg::QualityParams& params);

// A waveform object whose samples cannot be read is stored (it is valid DICOM) but judged
// unacceptable, with the parser's reason: a tracing nobody can read must be redone.
EcgAssessment assess_unreadable(codecs::ecg::Format format, const codecs::ecg::ParseError& error);

// Reads a DICOM waveform object from disk (values stay on disk) and assesses it.
EcgAssessment assess_dicom_file(const std::filesystem::path& file,
                                const codecs::ecg::QualityParams& params);

// The findings as a JSON array of {"code","lead","reason"} objects.
std::string findings_json(const std::vector<codecs::ecg::QualityFinding>& findings);

}  // namespace countylink::ingest
