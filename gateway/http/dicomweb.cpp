#include "gateway/http/dicomweb.hpp"

#include <fcntl.h>

#include <charconv>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcjson.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "codecs/io/file.hpp"
#include "gateway/ingest/spool_file.hpp"
#include "gateway/server/run_on.hpp"

namespace countylink::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr std::string_view kBoundary = "countylink-wado-boundary";
constexpr auto kTimeout = std::chrono::seconds(60);

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    }
    return out;
}

// A non-negative count from a query parameter; nullopt if present but not a number.
std::optional<std::size_t> count_param(std::string_view query, std::string_view key,
                                       std::size_t fallback) {
    const auto text = query_param(query, key);
    if (!text) return fallback;
    std::size_t v = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
    return v;
}

json::object attr(const char* vr, json::value v) {
    return json::object{{"vr", vr}, {"Value", json::array{std::move(v)}}};
}

json::object attr_or_empty(const char* vr, const std::string& v) {
    if (v.empty()) return json::object{{"vr", vr}};
    return attr(vr, json::string(v));
}

// PS3.18 F.2.3: an IS value is a JSON number; one that is not an integer stays out.
json::object integer_string(const std::string& v) {
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) {
        return json::object{{"vr", "IS"}};
    }
    return attr("IS", n);
}

// PS3.18 F.2.2: the '='-separated groups of a PN value are separate members.
json::object person_name(std::string_view name) {
    if (name.empty()) return json::object{{"vr", "PN"}};
    json::object groups;
    for (const char* member : {"Alphabetic", "Ideographic", "Phonetic"}) {
        const auto sep = name.find('=');
        if (!name.substr(0, sep).empty()) groups[member] = json::string(name.substr(0, sep));
        if (sep == std::string_view::npos) break;
        name.remove_prefix(sep + 1);
    }
    return attr("PN", std::move(groups));
}

enum class Level { study, series, instance };

// Groups latest-version rows into QIDO results at `level`.
json::array qido_results(const std::vector<store::InstanceRow>& rows, Level level,
                         std::size_t offset, std::size_t limit) {
    struct Group {
        const store::InstanceRecord* first = nullptr;
        std::set<std::string> modalities;
        std::size_t count = 0;
    };
    std::vector<std::string> order;
    std::map<std::string, Group> groups;
    for (const auto& row : rows) {
        const auto& r = row.record;
        const std::string key = level == Level::study    ? r.study_instance_uid
                                : level == Level::series ? r.series_instance_uid
                                                         : r.sop_instance_uid;
        auto [it, fresh] = groups.try_emplace(key);
        if (fresh) {
            it->second.first = &r;
            order.push_back(key);
        }
        if (!r.modality.empty()) it->second.modalities.insert(r.modality);
        ++it->second.count;
    }
    json::array out;
    for (std::size_t i = offset; i < order.size() && out.size() < limit; ++i) {
        const Group& g = groups.at(order[i]);
        const auto& r = *g.first;
        json::object o{{"0020000D", attr("UI", json::string(r.study_instance_uid))},
                       {"00100020", attr_or_empty("LO", r.patient_id)},
                       {"00100010", person_name(r.patient_name)},
                       {"00080020", attr_or_empty("DA", r.study_date)},
                       {"00080030", attr_or_empty("TM", r.study_time)},
                       {"00080050", attr_or_empty("SH", r.accession_number)},
                       {"00081030", attr_or_empty("LO", r.study_description)},
                       {"00100030", attr_or_empty("DA", r.patient_birth_date)},
                       {"00100040", attr_or_empty("CS", r.patient_sex)},
                       {"00200010", attr_or_empty("SH", r.study_id)}};
        const std::string study_url = "/dicomweb/studies/" + r.study_instance_uid;
        if (level == Level::study) {
            json::array mods;
            for (const auto& m : g.modalities) mods.push_back(json::string(m));
            o["00080061"] = json::object{{"vr", "CS"}, {"Value", std::move(mods)}};
            o["00201208"] = attr("IS", static_cast<int64_t>(g.count));
            o["00081190"] = attr("UR", json::string(study_url));
        } else {
            o["0020000E"] = attr("UI", json::string(r.series_instance_uid));
            o["00080060"] = attr_or_empty("CS", r.modality);
            o["0008103E"] = attr_or_empty("LO", r.series_description);
            o["00180015"] = attr_or_empty("CS", r.body_part);
            o["00200011"] = integer_string(r.series_number);
            const std::string series_url = study_url + "/series/" + r.series_instance_uid;
            if (level == Level::series) {
                o["00201209"] = attr("IS", static_cast<int64_t>(g.count));
                o["00081190"] = attr("UR", json::string(series_url));
            } else {
                o["00080016"] = attr("UI", json::string(r.sop_class_uid));
                o["00080018"] = attr("UI", json::string(r.sop_instance_uid));
                o["00200013"] = integer_string(r.instance_number);
                o["00081190"] =
                    attr("UR", json::string(series_url + "/instances/" + r.sop_instance_uid));
            }
        }
        out.push_back(std::move(o));
    }
    return out;
}

// JSON for metadata: values larger than a few KiB (pixel data, waveforms) become BulkDataURIs
// instead of base64, so metadata stays small whatever the object.
class MetadataFormat final : public DcmJsonFormatCompact {
  public:
    MetadataFormat(std::set<DcmTagKey> large, std::string uri)
        : DcmJsonFormatCompact(OFFalse), large_(std::move(large)), uri_(std::move(uri)) {}
    OFBool asBulkDataURI(const DcmTagKey& tag, OFString& uri) override {
        if (!large_.contains(tag)) return OFFalse;
        uri = (uri_ + "/bulk/" + std::to_string(tag.getGroup()) + "," +
               std::to_string(tag.getElement()))
                  .c_str();
        return OFTrue;
    }

  private:
    std::set<DcmTagKey> large_;
    std::string uri_;
};

// The metadata JSON of one stored instance: decompressed to a spool file, parsed by DCMTK
// with large values left on disk. Runs on a worker.
std::string instance_metadata(store::BlobStore& blobs, ingest::Spool& spool,
                              const store::InstanceRecord& r) {
    const ingest::SpoolFile file = ingest::spooled_copy(spool, blobs.open(r.sha256));
    DcmFileFormat ff;
    if (ff.loadFile(file.path().c_str(), EXS_Unknown, EGL_noChange, 4096).bad()) {
        throw std::runtime_error("stored object cannot be parsed");
    }
    // Always by URI: pixel data (native or encapsulated), waveforms, overlays, documents.
    std::set<DcmTagKey> large{DCM_PixelData,       DCM_FloatPixelData, DCM_DoubleFloatPixelData,
                              DCM_WaveformData,    DCM_OverlayData,    DCM_EncapsulatedDocument,
                              DCM_SpectroscopyData};
    DcmStack stack;
    DcmDataset* ds = ff.getDataset();
    while (ds->nextObject(stack, OFTrue).good()) {
        auto* obj = stack.top();
        if (obj->isLeaf() && obj->getLength() > 4096) large.insert(obj->getTag());
    }
    std::ostringstream out;
    MetadataFormat format(std::move(large), "/dicomweb/studies/" + r.study_instance_uid +
                                                "/series/" + r.series_instance_uid + "/instances/" +
                                                r.sop_instance_uid);
    // DcmDataset::writeJson writes the members only; the object's braces are ours.
    out << "{";
    if (ds->writeJson(out, format).bad()) throw std::runtime_error("cannot write JSON");
    out << "}";
    return out.str();
}

awaitable<void> write_response(HttpStream& stream, Caller& caller, Response res) {
    caller.status = static_cast<int>(res.result_int());
    stream.expires_after(kTimeout);
    co_await bhttp::async_write(stream, res, use_awaitable);
}

// Streams the instances as one multipart/related response, each part a Part-10 file.
awaitable<void> send_multipart(HttpStream& stream, const Request& req,
                               const std::vector<store::InstanceRow>& rows, Caller& caller,
                               server::Context& ctx) {
    caller.status = 200;
    bhttp::response<bhttp::buffer_body> res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::server, "countylinkd");
    res.set(bhttp::field::content_type,
            "multipart/related; type=\"application/dicom\"; boundary=" + std::string(kBoundary));
    res.keep_alive(req.keep_alive());
    res.chunked(true);
    res.body().data = nullptr;
    res.body().more = true;
    bhttp::response_serializer<bhttp::buffer_body> sr{res};
    stream.expires_after(kTimeout);
    co_await bhttp::async_write_header(stream, sr, use_awaitable);

    auto send = [&](std::span<std::byte> data, bool more) -> awaitable<void> {
        res.body().data = data.empty() ? nullptr : data.data();
        res.body().size = data.size();
        res.body().more = more;
        beast::error_code ec;
        stream.expires_after(kTimeout);
        co_await bhttp::async_write(stream, sr, asio::redirect_error(use_awaitable, ec));
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) throw beast::system_error(ec);
    };
    std::vector<std::byte> chunk(1 << 20);
    for (const auto& row : rows) {
        std::string head = "--" + std::string(kBoundary) +
                           "\r\nContent-Type: application/dicom\r\nContent-Length: " +
                           std::to_string(row.record.raw_size) + "\r\n\r\n";
        co_await send(std::as_writable_bytes(std::span(head.data(), head.size())), true);
        store::BlobReader reader = ctx.blobs.open(row.record.sha256);
        for (;;) {
            const std::size_t n = co_await server::run_on(
                ctx.workers, [&reader, &chunk] { return reader.read(chunk); });
            if (n == 0) break;
            co_await send(std::span(chunk.data(), n), true);
        }
        std::string crlf = "\r\n";
        co_await send(std::as_writable_bytes(std::span(crlf.data(), crlf.size())), true);
    }
    std::string close = "--" + std::string(kBoundary) + "--\r\n";
    co_await send(std::as_writable_bytes(std::span(close.data(), close.size())), true);
    co_await send({}, false);
}

// The rows of studies `who` may see. Blocking: runs on a worker.
std::vector<store::InstanceRow> visible_rows(std::vector<store::InstanceRow> rows,
                                             const auth::Principal& who,
                                             queue::ReadingQueues& queues) {
    if (who.reads_all_queues()) return rows;
    std::map<std::string, bool> seen;  // study -> visible
    std::vector<store::InstanceRow> out;
    for (auto& row : rows) {
        const std::string& study = row.record.study_instance_uid;
        auto it = seen.find(study);
        if (it == seen.end()) it = seen.emplace(study, study_visible(who, queues, study)).first;
        if (it->second) out.push_back(std::move(row));
    }
    return out;
}

}  // namespace

awaitable<bool> serve_dicomweb(HttpStream& stream, const Request& req, std::string_view path,
                               Caller& caller, server::Context& ctx) {
    const auto parts = split_path(path);
    if (parts.size() < 2 || parts[0] != "dicomweb" || req.method() != bhttp::verb::get) {
        co_return false;
    }
    const std::string_view query = query_of({req.target().data(), req.target().size()});

    store::InstanceQuery q;
    q.patient_id = query_param(query, "PatientID").value_or("");
    q.study_date = query_param(query, "StudyDate").value_or("");
    q.modality = query_param(query, "Modality").value_or("");
    q.accession_number = query_param(query, "AccessionNumber").value_or("");
    q.study_instance_uid = query_param(query, "StudyInstanceUID").value_or("");
    q.series_instance_uid = query_param(query, "SeriesInstanceUID").value_or("");
    q.sop_instance_uid = query_param(query, "SOPInstanceUID").value_or("");
    const auto limit = count_param(query, "limit", 1000);
    const auto offset = count_param(query, "offset", 0);
    if (!limit || !offset) {
        co_await write_response(
            stream, caller,
            json_error(req, bhttp::status::bad_request, "limit and offset must be whole numbers"));
        co_return true;
    }

    // Path shapes: studies | studies/S | studies/S/series | studies/S/series/R |
    // studies/S/series/R/instances | .../instances/I | any of those + /metadata |
    // studies/S/instances | series | instances.
    std::vector<std::string_view> p(parts.begin() + 1, parts.end());
    const bool metadata = !p.empty() && p.back() == "metadata";
    if (metadata) p.pop_back();
    std::optional<Level> search;
    bool retrieve = false;
    if (p.size() >= 2 && p[0] == "studies") q.study_instance_uid = std::string(p[1]);
    if (p.size() >= 4 && p[2] == "series") q.series_instance_uid = std::string(p[3]);
    if (p.size() >= 6 && p[4] == "instances") q.sop_instance_uid = std::string(p[5]);
    if (p.size() == 1 && p[0] == "studies")
        search = Level::study;
    else if (p.size() == 1 && p[0] == "series")
        search = Level::series;
    else if (p.size() == 1 && p[0] == "instances")
        search = Level::instance;
    else if (p.size() == 3 && p[0] == "studies" && p[2] == "series")
        search = Level::series;
    else if (p.size() == 3 && p[0] == "studies" && p[2] == "instances")
        search = Level::instance;
    else if (p.size() == 5 && p[0] == "studies" && p[2] == "series" && p[4] == "instances")
        search = Level::instance;
    else if ((p.size() == 2 || p.size() == 4 || p.size() == 6) && p[0] == "studies")
        retrieve = true;
    if ((search && metadata) || (!search && !retrieve)) {
        co_await write_response(stream, caller,
                                json_error(req, bhttp::status::not_found, "no such resource"));
        co_return true;
    }

    auto& index = ctx.index;
    auto& queues = ctx.queues;
    const auth::Principal& who = caller.who;
    caller.audit.type = search ? audit::EventType::query : audit::EventType::retrieve;
    caller.audit.study_instance_uid = q.study_instance_uid;
    if (!q.sop_instance_uid.empty()) caller.audit.sop_instance_uids.push_back(q.sop_instance_uid);
    const auto rows = co_await server::run_on(ctx.workers, [&index, &q, &who, &queues] {
        return visible_rows(index.find_instances(q), who, queues);
    });
    if (search) {
        const auto results = qido_results(rows, *search, *offset, *limit);
        co_await write_response(
            stream, caller,
            text_response(req, bhttp::status::ok, json::serialize(results) + "\n",
                          "application/dicom+json"));
        co_return true;
    }
    if (rows.empty()) {
        co_await write_response(
            stream, caller,
            json_error(req, bhttp::status::not_found, "nothing stored under this path"));
        co_return true;
    }
    if (metadata) {
        std::string body = "[";
        std::string error;
        for (const auto& row : rows) {
            auto& blobs = ctx.blobs;
            auto& spool = ctx.spool;
            const auto& record = row.record;
            try {
                body += co_await server::run_on(ctx.workers, [&blobs, &spool, &record] {
                    return instance_metadata(blobs, spool, record);
                });
            } catch (const std::exception& e) {
                error = "metadata of " + record.sop_instance_uid + ": " + e.what();
                break;
            }
            body += ",";
        }
        if (!error.empty()) {
            ctx.log.error(error);
            co_await write_response(stream, caller,
                                    json_error(req, bhttp::status::internal_server_error, error));
            co_return true;
        }
        body.back() = ']';
        co_await write_response(
            stream, caller,
            text_response(req, bhttp::status::ok, body + "\n", "application/dicom+json"));
        co_return true;
    }
    co_await send_multipart(stream, req, rows, caller, ctx);
    co_return true;
}

}  // namespace countylink::http
