// Content-addressed blob store: what is put comes back byte for byte, is named by the SHA-256
// of the raw bytes, is stored once however often it is sent, and damage is detected on read.
#include "gateway/store/blob_store.hpp"
#include "tests/support/temp_dir.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace countylink::store {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

using countylink::testing::TempDir;

void write_file(const fs::path& path, const Bytes& data) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    ASSERT_TRUE(out.good()) << path;
}

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Bytes out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

Bytes text_bytes(std::string_view s) {
    Bytes b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}

// 3 MB of random bytes then 2 MB of a repeating pattern, like pixel data after a header.
Bytes sample_object(uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes data(3u << 20);
    for (auto& b : data) b = std::byte(rng() & 0xff);
    const std::string_view pattern = "CountyLink township CT slice 0001 ";
    for (std::size_t i = 0; i < (2u << 20); ++i) data.push_back(std::byte(pattern[i % 34]));
    return data;
}

// Everything a reader gives, in small uneven reads as a streaming consumer would do.
Bytes read_all(BlobReader reader) {
    Bytes out;
    std::vector<std::byte> buffer(100'003);
    for (;;) {
        const std::size_t n = reader.read(buffer);
        if (n == 0) break;
        out.insert(out.end(), buffer.begin(), buffer.begin() + long(n));
    }
    return out;
}

// SHA-256 computed here with OpenSSL, independently of the store's streaming hash.
std::string sha256_hex(const Bytes& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EXPECT_EQ(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr), 1);
    std::string out;
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

// Blob files (*.zst) under the store root, temporaries excluded.
std::vector<fs::path> blob_files(const fs::path& root) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file() && entry.path().extension() == ".zst") {
            out.push_back(entry.path());
        }
    }
    return out;
}

std::size_t count_files(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir)) n += entry.is_regular_file() ? 1 : 0;
    return n;
}

TEST(BlobStore, PutThenReadGivesIdenticalBytes) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    const Bytes object = sample_object(1);
    write_file(dir.path() / "object.dcm", object);

    const BlobRef ref = store.put(dir.path() / "object.dcm");
    EXPECT_EQ(ref.sha256, sha256_hex(object));
    EXPECT_EQ(ref.raw_size, object.size());
    EXPECT_EQ(ref.directory, store.path_of(ref.sha256).parent_path());
    // <root>/<first two hex>/<64 hex>.zst
    EXPECT_EQ(store.path_of(ref.sha256),
              dir.path() / "blobs" / ref.sha256.substr(0, 2) / (ref.sha256 + ".zst"));
    ASSERT_TRUE(fs::exists(store.path_of(ref.sha256)));
    EXPECT_EQ(fs::file_size(store.path_of(ref.sha256)), ref.stored_size);

    EXPECT_EQ(read_all(store.open(ref.sha256)), object);
}

TEST(BlobStore, NameIsSha256OfRawBytes) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    write_file(dir.path() / "abc", text_bytes("abc"));
    // FIPS 180-2 test vector.
    const BlobRef ref = store.put(dir.path() / "abc");
    EXPECT_EQ(ref.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(ref.raw_size, 3u);
    EXPECT_EQ(read_all(store.open(ref.sha256)), text_bytes("abc"));
}

TEST(BlobStore, EmptyObjectRoundTrips) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    write_file(dir.path() / "empty", {});
    const BlobRef ref = store.put(dir.path() / "empty");
    EXPECT_EQ(ref.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(ref.raw_size, 0u);
    EXPECT_TRUE(read_all(store.open(ref.sha256)).empty());
}

TEST(BlobStore, CompressibleInputIsStoredSmaller) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    const Bytes object = sample_object(2);
    write_file(dir.path() / "object.dcm", object);
    const BlobRef ref = store.put(dir.path() / "object.dcm");
    // The 2 MB pattern compresses to almost nothing; random bytes cannot shrink.
    EXPECT_LT(ref.stored_size, ref.raw_size);
    EXPECT_LT(ref.stored_size, (3u << 20) + (256u << 10));
}

TEST(BlobStore, IdenticalContentStoredOnce) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    const Bytes object = sample_object(3);
    write_file(dir.path() / "first.dcm", object);
    write_file(dir.path() / "second.dcm", object);

    const BlobRef a = store.put(dir.path() / "first.dcm");
    const BlobRef b = store.put(dir.path() / "second.dcm");
    EXPECT_EQ(a.sha256, b.sha256);
    EXPECT_EQ(blob_files(dir.path() / "blobs").size(), 1u);
    EXPECT_EQ(count_files(dir.path() / "blobs" / "tmp"), 0u) << "the second put left its temp";
    EXPECT_EQ(read_all(store.open(b.sha256)), object);

    write_file(dir.path() / "other.dcm", text_bytes("another object"));
    store.put(dir.path() / "other.dcm");
    EXPECT_EQ(blob_files(dir.path() / "blobs").size(), 2u);
}

TEST(BlobStore, CorruptedBlobMakesReadThrow) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    const Bytes object = sample_object(4);
    write_file(dir.path() / "object.dcm", object);
    const BlobRef ref = store.put(dir.path() / "object.dcm");

    Bytes stored = read_file(store.path_of(ref.sha256));
    ASSERT_EQ(stored.size(), ref.stored_size);
    stored[stored.size() / 2] ^= std::byte{0x40};
    write_file(store.path_of(ref.sha256), stored);

    // Damage must never be served as if it were the object.
    EXPECT_THROW(read_all(store.open(ref.sha256)), std::runtime_error);
}

TEST(BlobStore, TruncatedBlobMakesReadThrow) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    const Bytes object = sample_object(5);
    write_file(dir.path() / "object.dcm", object);
    const BlobRef ref = store.put(dir.path() / "object.dcm");

    fs::resize_file(store.path_of(ref.sha256), ref.stored_size - 100);
    EXPECT_THROW(read_all(store.open(ref.sha256)), std::runtime_error);
}

TEST(BlobStore, OpenMissingBlobThrowsSystemError) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    EXPECT_THROW(store.open(std::string(64, 'a')), std::system_error);
}

// A blob's directory must exist before the put whose acknowledgement depends on it: a prefix
// directory made on first use would be lost with its blob if the root's entry were not synced.
TEST(BlobStore, EveryPrefixDirectoryExistsFromTheStartAndARemovedOneComesBack) {
    TempDir dir;
    const auto root = dir.path() / "blobs";
    {
        BlobStore store(root, 3);
        std::size_t prefixes = 0;
        for (const auto& e : fs::directory_iterator(root))
            prefixes += e.is_directory() && e.path().filename() != "tmp";
        EXPECT_EQ(prefixes, 256u);
    }
    const fs::path file = dir.path() / "object";
    const Bytes object = text_bytes(std::string(1000, 'x'));
    write_file(file, object);
    BlobStore store(root, 3);
    const std::string sha = sha256_hex(object);
    fs::remove_all(root / sha.substr(0, 2));  // an operator's mistake
    const auto ref = store.put(file);
    EXPECT_EQ(ref.sha256, sha);
    EXPECT_EQ(read_all(store.open(sha)), object);
}

TEST(BlobStore, PutOfMissingSourceThrowsAndLeavesNoTemp) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    EXPECT_THROW(store.put(dir.path() / "does-not-exist"), std::system_error);
    EXPECT_EQ(count_files(dir.path() / "blobs" / "tmp"), 0u);
}

TEST(BlobStore, RecoverRemovesTempsAndUnreferencedBlobs) {
    TempDir dir;
    const fs::path root = dir.path() / "blobs";
    BlobStore store(root, 3);
    write_file(dir.path() / "kept", text_bytes("referenced by the index"));
    write_file(dir.path() / "orphan", text_bytes("index commit never happened"));
    const BlobRef kept = store.put(dir.path() / "kept");
    const BlobRef orphan = store.put(dir.path() / "orphan");
    // An interrupted put: a partial temporary.
    write_file(root / "tmp" / "put-123456", text_bytes("partial zstd frame"));

    EXPECT_EQ(store.recover({kept.sha256}).removed, 2u);

    EXPECT_FALSE(fs::exists(root / "tmp" / "put-123456"));
    EXPECT_FALSE(fs::exists(store.path_of(orphan.sha256)));
    ASSERT_TRUE(fs::exists(store.path_of(kept.sha256)));
    EXPECT_EQ(read_all(store.open(kept.sha256)), text_bytes("referenced by the index"));
    EXPECT_EQ(blob_files(root).size(), 1u);

    // Nothing left to clean: a second recovery removes nothing and still keeps the blob.
    EXPECT_EQ(store.recover({kept.sha256}).removed, 0u);
    EXPECT_TRUE(fs::exists(store.path_of(kept.sha256)));

    // The store is usable after recovery.
    const BlobRef again = store.put(dir.path() / "orphan");
    EXPECT_EQ(read_all(store.open(again.sha256)), text_bytes("index commit never happened"));
}

// An index that does not know most of the store (lost, replaced by an empty one, a disk not
// mounted) must not make recovery delete the studies: it refuses and removes nothing.
TEST(BlobStore, RecoverRefusesToEmptyTheStoreForAnIndexThatDoesNotKnowIt) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 1);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < BlobStore::kCrashLeftovers + 1; ++i) {
        write_file(dir.path() / "object", text_bytes("study object " + std::to_string(i)));
        names.push_back(store.put(dir.path() / "object").sha256);
    }
    try {
        store.recover({});
        ADD_FAILURE() << "recovery against an empty index removed the store";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("was the index lost or replaced?"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(blob_files(dir.path() / "blobs").size(), names.size());
    // The index knows most of them: the few it does not are a crash's leftovers, and go.
    const std::vector<std::string> known(names.begin() + 3, names.end());
    EXPECT_EQ(store.recover(known).removed, 3u);
    EXPECT_EQ(blob_files(dir.path() / "blobs").size(), known.size());
}

// Recovery names what the index refers to but the disk does not have (a crash after the
// index commit, before the blob's name was durable), so those rows can be taken out.
TEST(BlobStore, RecoverNamesReferencedBlobsThatAreMissing) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 1);
    write_file(dir.path() / "kept", text_bytes("on disk"));
    const BlobRef kept = store.put(dir.path() / "kept");
    const std::string lost(64, 'e');
    const auto recovered = store.recover({kept.sha256, lost});
    EXPECT_EQ(recovered.removed, 0u);
    EXPECT_EQ(recovered.missing, std::vector<std::string>{lost});
}

// write() then publish(): nothing is under the blob's name until publish, yet the blob counts
// as present (a commit may refer to it) and a reader asking for it waits for the publish.
TEST(BlobStore, WrittenBlobIsInFlightUntilPublished) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 1);
    const Bytes data = sample_object(7);
    write_file(dir.path() / "object.dcm", data);
    PendingBlob pending = store.write(dir.path() / "object.dcm");
    const std::string sha = pending.ref().sha256;
    EXPECT_FALSE(fs::exists(store.path_of(sha)));
    EXPECT_TRUE(store.contains(sha));

    Bytes seen;
    std::thread reader([&] { seen = read_all(store.open(sha)); });
    store.publish(pending);
    reader.join();
    EXPECT_EQ(seen, data);
    EXPECT_TRUE(fs::exists(store.path_of(sha)));
    EXPECT_TRUE(fs::is_empty(dir.path() / "blobs" / "tmp"));
}

// The group commit asks contains() while the blob is being published on another thread: the
// answer must be yes before, during and after the rename (a gap there failed a commit with
// "blob removed by a purge" under 8 senders).
TEST(BlobStore, ContainsHasNoGapWhilePublishing) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 1);
    for (int i = 0; i < 100; ++i) {
        const fs::path file = dir.path() / ("object-" + std::to_string(i));
        write_file(file, text_bytes("object number " + std::to_string(i)));
        PendingBlob pending = store.write(file);
        const std::string sha = pending.ref().sha256;
        std::atomic<bool> published{false};
        std::atomic<int> misses{0};
        // More askers than cores, so some are preempted between any two steps of contains().
        std::vector<std::thread> askers;
        for (int a = 0; a < 8; ++a) {
            askers.emplace_back([&] {
                while (!published.load()) {
                    if (!store.contains(sha)) ++misses;
                }
            });
        }
        store.publish(pending);
        published = true;
        for (auto& asker : askers) asker.join();
        ASSERT_EQ(misses.load(), 0) << "object " << i;
        ASSERT_TRUE(store.contains(sha));
    }
}

// A blob written but never published (its commit failed) leaves nothing behind.
TEST(BlobStore, UnpublishedBlobLeavesNothing) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 1);
    write_file(dir.path() / "object.dcm", text_bytes("refused after writing"));
    std::string sha;
    {
        PendingBlob pending = store.write(dir.path() / "object.dcm");
        sha = pending.ref().sha256;
    }
    EXPECT_FALSE(store.contains(sha));
    EXPECT_TRUE(fs::is_empty(dir.path() / "blobs" / "tmp"));
    EXPECT_THROW(store.open(sha), std::system_error);

    // Bytes already stored: no temporary at all, and publish only syncs the name.
    const BlobRef stored = store.put(dir.path() / "object.dcm");
    PendingBlob again = store.write(dir.path() / "object.dcm");
    EXPECT_TRUE(fs::is_empty(dir.path() / "blobs" / "tmp"));
    store.publish(again);
    EXPECT_EQ(read_all(store.open(stored.sha256)), text_bytes("refused after writing"));
}

}  // namespace
}  // namespace countylink::store

namespace countylink::store {
namespace {

// Compression contexts are reused from put to put: objects of any size (a large one compressed
// by several threads), with and without the sample pre-filter, one after another and from
// several threads, must each come back exactly.
TEST(BlobStore, ReusedCompressionContextsKeepEveryObjectExact) {
    TempDir dir;
    BlobStore store(dir.path() / "blobs", 3);
    std::vector<Bytes> objects;
    for (uint32_t i = 0; i < 12; ++i) {
        Bytes o = sample_object(100 + i);
        o.resize(o.size() >> (i % 6));  // 5 MB down to 160 KB, then again
        if (i == 6) {                   // and one compressed by several threads (>= 8 MiB)
            const Bytes more = sample_object(99);
            for (int k = 0; k < 2; ++k) o.insert(o.end(), more.begin(), more.end());
        }
        objects.push_back(std::move(o));
    }
    std::vector<BlobRef> refs(objects.size());
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            for (std::size_t i = t; i < objects.size(); i += 3) {
                fs::path file = dir.path() / "object-";
                file += std::to_string(i);
                write_file(file, objects[i]);
                const std::optional<compress::SampleRange> samples =
                    i % 2 ? std::optional(compress::SampleRange{1000, objects[i].size() - 1001, 1})
                          : std::nullopt;
                refs[i] = store.put(file, samples);
            }
        });
    }
    for (auto& t : threads) t.join();
    for (std::size_t i = 0; i < objects.size(); ++i) {
        EXPECT_EQ(refs[i].raw_size, objects[i].size());
        EXPECT_EQ(read_all(store.open(refs[i].sha256)), objects[i]) << "object " << i;
    }
}

}  // namespace
}  // namespace countylink::store
