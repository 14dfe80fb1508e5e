// Validation of a received Part-10 file with DCMTK (the pipeline's first step, reading the spool
// file from the page cache) and the search for the sample range the pre-filter needs.
#include <benchmark/benchmark.h>

#include "codecs/dicom/part10.hpp"
#include "tests/bench/benchmarks.hpp"

namespace countylink::bench {
namespace {

namespace cd = codecs::dicom;

void check_part10(benchmark::State& state, const BenchObject& object,
                  const std::set<std::string>& fatal_codes) {
    const cd::Expected expected{object.report.ids.sop_class_uid,
                                object.report.ids.sop_instance_uid};
    for (auto _ : state) {
        const auto report = cd::check_part10_file(object.file, expected, fatal_codes);
        if (report.fatal) {
            state.SkipWithError("the object was refused");
            break;
        }
        benchmark::DoNotOptimize(report.ids.sop_instance_uid.data());
    }
    count_items(state, object.bytes.size());
}

void locate_samples(benchmark::State& state, const BenchObject& object) {
    for (auto _ : state) {
        const auto range = cd::locate_samples(object.file, *object.report.samples);
        if (range != object.samples) {
            state.SkipWithError("the sample range moved");
            break;
        }
        benchmark::DoNotOptimize(range);
    }
    count_items(state, object.bytes.size());
}

}  // namespace

void register_dataset_benchmarks(const Inputs& inputs) {
    for (const auto& object : inputs.objects()) {
        add("dataset/check_part10_file/" + object.kind, [&object, &inputs](benchmark::State& s) {
            check_part10(s, object, inputs.fatal_codes());
        });
        add("dataset/locate_samples/" + object.kind,
            [&object](benchmark::State& s) { locate_samples(s, object); });
    }
}

}  // namespace countylink::bench
