// One registration function per hot path (one file each); main() calls them all once the
// inputs exist. Items are objects unless a benchmark says otherwise; bytes are the object's.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "tests/bench/inputs.hpp"

namespace countylink::bench {

// Registers `fn` (called with the benchmark::State) under `name`, reported in microseconds.
// Lambdas capture inputs by reference: they live in main() until every benchmark has run.
template <class Fn>
benchmark::internal::Benchmark* add(const std::string& name, Fn fn) {
    return benchmark::RegisterBenchmark(name.c_str(), std::move(fn))->Unit(benchmark::kMicrosecond);
}

// Reports one item of `bytes` bytes per iteration (bytes/s and items/s).
inline void count_items(benchmark::State& state, std::size_t bytes) {
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
    state.SetItemsProcessed(state.iterations());
}

// Reads `reader` (ZstdReader, BlobReader) to its end through `buffer`; returns the bytes read.
template <class Reader>
std::size_t read_all(Reader& reader, std::span<std::byte> buffer) {
    std::size_t total = 0;
    while (const std::size_t n = reader.read(buffer)) total += n;
    return total;
}

// P-DATA-TF framing: splitting received PDUs into PDVs and spooling them; encoding for sending.
void register_pdu_benchmarks(const Inputs& inputs);
// DIMSE command sets: C-STORE-RQ decoding and the response's encoding (items: commands).
void register_dimse_benchmarks(const Inputs& inputs);
// Part-10 validation with DCMTK and finding the sample range for the pre-filter.
void register_dataset_benchmarks(const Inputs& inputs);
// zstd frames and the sample pre-filter, each way, without a disk.
void register_compress_benchmarks(const Inputs& inputs);
// The ECG quality gate on a DICOM 12-lead ECG.
void register_ecg_gate_benchmarks(const Inputs& inputs);
// SHA-256 as the blob store computes it.
void register_hash_benchmarks(const Inputs& inputs);
// Blob put and read on the scratch file system, and index inserts into SQLite (items: rows).
void register_store_benchmarks(const Inputs& inputs);
// The CPU an accepted object costs end to end: receive, validate, the ECG gate for waveforms,
// locate, put (hash, filter, compress, write).
void register_ingest_benchmarks(const Inputs& inputs);

}  // namespace countylink::bench
