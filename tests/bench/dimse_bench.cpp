// DIMSE command sets: one C-STORE-RQ decoded and one C-STORE-RSP encoded per object received.
#include <benchmark/benchmark.h>

#include "gateway/dicom/dimse.hpp"
#include "tests/bench/benchmarks.hpp"
#include "tests/bench/receive.hpp"

namespace countylink::bench {
namespace {

void decode_store_rq(benchmark::State& state, const BenchObject& object) {
    const auto bytes = dicom::encode_command(store_request(object));
    for (auto _ : state) {
        auto command = dicom::decode_command(bytes);
        benchmark::DoNotOptimize(command.affected_sop_instance_uid.data());
    }
    count_items(state, bytes.size());  // commands
}

void encode_store_rsp(benchmark::State& state, const BenchObject& object) {
    const dicom::Command rq = store_request(object);
    std::size_t size = 0;
    for (auto _ : state) {
        const auto bytes = dicom::encode_command(dicom::make_response(rq, dicom::status::success));
        size = bytes.size();
        benchmark::DoNotOptimize(bytes.data());
    }
    count_items(state, size);  // commands
}

}  // namespace

void register_dimse_benchmarks(const Inputs& inputs) {
    add("dimse/decode_c_store_rq",
        [&inputs](benchmark::State& s) { decode_store_rq(s, inputs.dx()); });
    add("dimse/encode_c_store_rsp",
        [&inputs](benchmark::State& s) { encode_store_rsp(s, inputs.dx()); });
}

}  // namespace countylink::bench
