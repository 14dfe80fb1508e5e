// `countylinkctl ecg-eval`: scores the ECG quality gate against a labelled folder of WFDB records
// (the metric of ../shared/ecg-quality/SCORING.md), with optional cross-validation of its fitted
// thresholds and an LA/RA reversal check.
#pragma once

#include <string>
#include <vector>

namespace countylink::ctl {

// `args` are what follows "ecg-eval": DIR LABELS.csv [--folds K] [--seed N] [--reversal]
// [--dump FILE]. Prints figures on stdout (last line `accuracy=0.xxx`), progress on stderr.
// --dump writes per-lead indices to FILE, with --reversal also the reversal correlations of each
// acceptable record as recorded and arms-swapped to FILE.reversal.csv.
// Returns 0 when it ran, 2 on bad usage; I/O failures on the labels file throw.
int ecg_eval(const std::vector<std::string>& args);

}  // namespace countylink::ctl
