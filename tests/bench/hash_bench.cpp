// SHA-256 of an object's raw bytes through OpenSSL's EVP interface, a context per object, as
// BlobStore::put names every blob (OpenSSL picks SHA-NI or AVX2 code for this CPU).
#include <openssl/evp.h>

#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>

#include "tests/bench/benchmarks.hpp"

namespace countylink::bench {
namespace {

void sha256(benchmark::State& state, const BenchObject& object) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    for (auto _ : state) {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
        unsigned length = 0;
        if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
            EVP_DigestUpdate(ctx.get(), object.bytes.data(), object.bytes.size()) != 1 ||
            EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
            throw std::runtime_error("openssl: SHA-256 failed");
        }
        benchmark::DoNotOptimize(digest);
    }
    count_items(state, object.bytes.size());
}

}  // namespace

void register_hash_benchmarks(const Inputs& inputs) {
    for (const auto& object : inputs.objects()) {
        add("sha256/" + object.kind, [&object](benchmark::State& s) { sha256(s, object); });
    }
}

}  // namespace countylink::bench
