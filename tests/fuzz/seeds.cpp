// Seed inputs: real corpus files, wrapped the way each target reads its input.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/query_identifier.hpp"
#include "codecs/dicom/storage_commitment.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/pdu.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

// Large seeds slow every mutation down; the first bytes hold what the parsers look at.
constexpr std::size_t kMaxSeed = 256 * 1024;

Bytes read_bytes(const fs::path& file, std::size_t limit = kMaxSeed) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("fuzz seeds: cannot read " + file.string());
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    chars.resize(std::min(chars.size(), limit));
    Bytes out(chars.size());
    if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

Bytes text_bytes(std::string_view s) {
    Bytes out(s.size());
    if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
    return out;
}

void append(Bytes& to, const Bytes& more) {
    to.insert(to.end(), more.begin(), more.end());
}

// Small, valid Part-10 files of the corpus with different transfer syntaxes and classes.
const char* const kDicomFiles[] = {"CT_small.dcm",
                                   "MR_small_bigendian.dcm",
                                   "MR_small_RLE.dcm",
                                   "JPEGLSNearLossless_16.dcm",
                                   "SC_rgb_small_odd_big_endian.dcm",
                                   "chrH31.dcm",
                                   "test-SR.dcm",
                                   "liver_deflate.dcm"};

struct CorpusObject {
    std::string name;
    codecs::dicom::MetaInfo meta;
    Bytes dataset;
};

std::vector<CorpusObject> corpus_objects(const fs::path& shared) {
    std::vector<CorpusObject> out;
    for (const char* name : kDicomFiles) {
        const auto file = read_bytes(shared / "corpus" / "dicom" / name);
        const auto start = codecs::dicom::read_part10_start(file);
        if (!start) throw std::runtime_error(std::string("fuzz seeds: not Part-10: ") + name);
        CorpusObject o;
        o.name = name;
        o.meta = start->meta;
        o.dataset.assign(file.begin() + static_cast<std::ptrdiff_t>(start->dataset_offset),
                         file.end());
        out.push_back(std::move(o));
    }
    return out;
}

dicom::Command store_rq(const CorpusObject& o, uint16_t id) {
    dicom::Command c;
    c.command_field = static_cast<uint16_t>(dicom::CommandField::c_store_rq);
    c.affected_sop_class_uid = o.meta.sop_class_uid;
    c.affected_sop_instance_uid = o.meta.sop_instance_uid;
    c.message_id = id;
    c.priority = 0;
    c.data_set_type = 0x0000;
    return c;
}

std::vector<Seed> pdu_seeds(const fs::path& shared) {
    std::vector<Seed> out;
    dicom::AssociateRq rq;
    rq.called_ae = "COUNTYLINK";
    rq.calling_ae = "STORESCU";
    rq.application_context = "1.2.840.10008.3.1.1.1";
    rq.contexts.push_back({1, "1.2.840.10008.1.1", {"1.2.840.10008.1.2"}});
    rq.user.max_pdu_length = 16384;
    rq.user.implementation_class_uid = "1.2.276.0.7230010.3.0.3.6.7";
    rq.user.implementation_version_name = "OFFIS_DCMTK_367";
    uint8_t id = 3;
    const auto objects = corpus_objects(shared);
    for (const auto& o : objects) {
        rq.contexts.push_back(
            {id, o.meta.sop_class_uid, {o.meta.transfer_syntax_uid, "1.2.840.10008.1.2.1"}});
        id = static_cast<uint8_t>(id + 2);
    }
    auto open = dicom::encode(rq);
    out.emplace_back("associate_rq_open", open);
    open[1] = std::byte{1};  // the reserved byte picks the strict config in the target
    out.emplace_back("associate_rq_strict", open);

    dicom::AssociateAc ac;
    ac.called_ae = rq.called_ae;
    ac.calling_ae = rq.calling_ae;
    ac.application_context = rq.application_context;
    ac.contexts.push_back({1, dicom::ContextResult::acceptance, "1.2.840.10008.1.2"});
    ac.contexts.push_back({3, dicom::ContextResult::transfer_syntaxes_not_supported, ""});
    ac.user.max_pdu_length = 262144;
    ac.user.implementation_class_uid = std::string(codecs::dicom::kImplementationClassUid);
    out.emplace_back("associate_ac", dicom::encode(ac));
    out.emplace_back("associate_rj", dicom::encode(dicom::AssociateRj{1, 1, 7}));
    out.emplace_back("abort", dicom::encode(dicom::Abort{0, 0}));
    out.emplace_back("release_rq", dicom::encode_release_rq());
    out.emplace_back("release_rp", dicom::encode_release_rp());

    uint16_t message = 1;
    for (const auto& o : objects) {
        const auto command = dicom::encode_command(store_rq(o, message++));
        out.emplace_back("p_data_command_" + o.name, dicom::encode_p_data(1, true, true, command));
        const auto head = std::span(o.dataset).first(std::min<std::size_t>(o.dataset.size(), 4096));
        out.emplace_back("p_data_dataset_" + o.name, dicom::encode_p_data(3, false, false, head));
    }
    return out;
}

std::vector<Seed> dimse_seeds(const fs::path& shared) {
    std::vector<Seed> out;
    uint16_t message = 1;
    for (const auto& o : corpus_objects(shared)) {
        const auto rq = store_rq(o, message++);
        out.emplace_back("c_store_rq_" + o.name, dicom::encode_command(rq));
        out.emplace_back("c_store_rsp_" + o.name,
                         dicom::encode_command(dicom::make_response(
                             rq, dicom::status::warning_not_conformant, "Pixel Data too long")));
    }
    dicom::Command echo;
    echo.command_field = static_cast<uint16_t>(dicom::CommandField::c_echo_rq);
    echo.affected_sop_class_uid = "1.2.840.10008.1.1";
    echo.message_id = 7;
    out.emplace_back("c_echo_rq", dicom::encode_command(echo));
    return out;
}

std::vector<Seed> multipart_seeds(const fs::path& shared) {
    std::vector<Seed> out;
    const std::string boundary = "countylink-fuzz-7d1f";
    const std::string type =
        "multipart/related; type=\"application/dicom\"; boundary=" + boundary + "\n";
    const char* const files[][2] = {{"chrH31.dcm", "JPEGLSNearLossless_16.dcm"},
                                    {"MR_small.dcm", "SC_rgb_small_odd_big_endian.dcm"}};
    uint8_t chunk = 0;
    for (const auto& pair : files) {
        Bytes seed = text_bytes(type);
        seed.push_back(std::byte{chunk});
        chunk = static_cast<uint8_t>(chunk + 97);
        for (const char* name : pair) {
            append(seed,
                   text_bytes("--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n"));
            append(seed, read_bytes(shared / "corpus" / "dicom" / name));
            append(seed, text_bytes("\r\n"));
        }
        append(seed, text_bytes("--" + boundary + "--\r\n"));
        out.emplace_back(std::string("stow_") + pair[0], seed);
    }
    return out;
}

std::vector<Seed> config_seeds(const fs::path& source) {
    std::vector<Seed> out;
    for (const auto& e : fs::directory_iterator(source / "config" / "examples")) {
        out.emplace_back(e.path().filename().string(), read_bytes(e.path()));
    }
    return out;
}

std::vector<Seed> ecg_seeds(const fs::path& shared) {
    std::vector<Seed> out;
    for (const auto& e : fs::recursive_directory_iterator(shared / "corpus" / "ecg")) {
        if (!e.is_regular_file()) continue;
        Bytes seed{std::byte{0}};  // no Content-Type: the bytes decide
        append(seed, read_bytes(e.path()));
        out.emplace_back(
            e.path().parent_path().filename().string() + "_" + e.path().filename().string(), seed);
    }
    return out;
}

std::vector<Seed> part10_seeds(const fs::path& shared) {
    std::vector<Seed> out;
    for (const char* name : kDicomFiles) {
        out.emplace_back(name, read_bytes(shared / "corpus" / "dicom" / name, 2048));
    }
    for (const char* name : {"no_meta_group_length.dcm", "no_meta.dcm", "GH064.dcm"}) {
        out.emplace_back(name, read_bytes(shared / "corpus" / "dicom-bad" / name, 2048));
    }
    return out;
}

// Requests as equipment sends them (our report encoder writes the same two attributes), in
// both syntaxes, one with a Failed SOP Sequence an SCU should not send, and a truncated one.
std::vector<Seed> commitment_seeds() {
    namespace cd = codecs::dicom;
    cd::CommitmentReport request;
    request.transaction_uid = "2.25.123456789";
    request.committed = {{"1.2.840.10008.5.1.4.1.1.2", "1.2.826.0.1.3680043.10.1234.1"},
                         {"1.2.840.10008.5.1.4.1.1.1.1", "1.2.826.0.1.3680043.10.1234.2"}};
    std::vector<Seed> out;
    out.emplace_back("implicit", cd::encode_commitment_report(request, "1.2.840.10008.1.2"));
    out.emplace_back("explicit", cd::encode_commitment_report(request, "1.2.840.10008.1.2.1"));
    request.failed.push_back(
        {request.committed[0], cd::commitment_failure::no_such_object_instance});
    Bytes both = cd::encode_commitment_report(request, "1.2.840.10008.1.2.1");
    out.emplace_back("with_failed", both);
    both.resize(both.size() / 2);
    out.emplace_back("truncated", both);
    return out;
}

// Identifiers as findscu and viewers send them: each level, wildcards, ranges, UID lists, a
// GB18030 name, a sequence key, and a truncated one.
std::vector<Seed> find_seeds() {
    namespace cd = codecs::dicom;
    std::vector<Seed> out;
    const auto add = [&](const std::string& name,
                         std::vector<std::pair<uint32_t, std::string>> keys, const char* syntax) {
        out.emplace_back(name, cd::encode_query_response(std::move(keys), syntax));
    };
    add("study_implicit",
        {{0x00080052, "STUDY"},
         {0x00100010, "WANG*"},
         {0x00080020, "20260101-20261231"},
         {0x0020000D, ""},
         {0x00080061, "CT\\MR"}},
        "1.2.840.10008.1.2");
    add("series_explicit",
        {{0x00080052, "SERIES"}, {0x0020000D, "1.2.3\\1.2.4"}, {0x00080060, "C?"}},
        "1.2.840.10008.1.2.1");
    add("patient_utf8", {{0x00080052, "PATIENT"}, {0x00100010, "\u5F20*"}, {0x00100020, ""}},
        "1.2.840.10008.1.2.1");
    Bytes cut = out.front().second;
    cut.resize(cut.size() / 2);
    out.emplace_back("truncated", cut);
    return out;
}

}  // namespace

std::vector<Seed> seeds(const std::string& target, const fs::path& shared_dir,
                        const fs::path& source_dir) {
    if (!fs::exists(shared_dir / "corpus" / "MANIFEST.md")) {
        throw std::runtime_error("fuzz seeds: test corpus missing at " + shared_dir.string());
    }
    if (target == "pdu") return pdu_seeds(shared_dir);
    if (target == "dimse") return dimse_seeds(shared_dir);
    if (target == "multipart") return multipart_seeds(shared_dir);
    if (target == "config") return config_seeds(source_dir);
    if (target == "ecg") return ecg_seeds(shared_dir);
    if (target == "part10") return part10_seeds(shared_dir);
    if (target == "commitment") return commitment_seeds();
    if (target == "find") return find_seeds();
    throw std::runtime_error("fuzz seeds: no target " + target);
}

void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
}

}  // namespace countylink::fuzz
