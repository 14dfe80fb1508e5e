// The ECG quality gate the pipeline runs on every DICOM waveform object before storing it: read
// the 12 leads from the spooled file, find beats, judge noise and placement.
#include <benchmark/benchmark.h>

#include "codecs/dicom/sop_classes.hpp"
#include "gateway/ingest/ecg_gate.hpp"
#include "tests/bench/benchmarks.hpp"

namespace countylink::bench {
namespace {

void assess_dicom_file(benchmark::State& state, const BenchObject& object) {
    for (auto _ : state) {
        const auto assessment =
            ingest::assess_dicom_file(object.file, codecs::ecg::QualityParams{});
        if (assessment.record.leads != 12) {
            state.SkipWithError("the gate did not read 12 leads");
            break;
        }
        benchmark::DoNotOptimize(assessment.record.verdict.data());
    }
    count_items(state, object.bytes.size());
}

}  // namespace

void register_ecg_gate_benchmarks(const Inputs& inputs) {
    for (const auto& object : inputs.objects()) {
        if (!codecs::dicom::is_ecg_sop_class(object.report.ids.sop_class_uid)) continue;
        add("ecg_gate/assess_dicom_file/" + object.kind,
            [&object](benchmark::State& s) { assess_dicom_file(s, object); });
    }
}

}  // namespace countylink::bench
