// countylink_microbench: Google Benchmark over the gateway's hot paths on synthetic objects
// (docs/benchmarks.md says how to run it and what the figures were). The objects and the
// scratch stores live in a directory that is removed on exit.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "tests/bench/benchmarks.hpp"

int main(int argc, char** argv) {
    using namespace countylink::bench;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    try {
        // COUNTYLINK_BENCH_DIR: put the stores on that file system (a disk, to include fsync).
        const char* dir = std::getenv("COUNTYLINK_BENCH_DIR");
        const Inputs inputs(dir && *dir ? std::filesystem::path(dir) : default_scratch_base());
        benchmark::AddCustomContext("scratch", inputs.directory("").string());
        for (const auto& object : inputs.objects()) {
            benchmark::AddCustomContext(object.kind + "_bytes",
                                        std::to_string(object.bytes.size()));
        }
        register_pdu_benchmarks(inputs);
        register_dimse_benchmarks(inputs);
        register_dataset_benchmarks(inputs);
        register_compress_benchmarks(inputs);
        register_ecg_gate_benchmarks(inputs);
        register_hash_benchmarks(inputs);
        register_store_benchmarks(inputs);
        register_ingest_benchmarks(inputs);
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
    } catch (const std::exception& e) {
        std::cerr << "countylink_microbench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
