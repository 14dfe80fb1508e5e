// The streaming multipart parser: parts come out the same however the body is chunked.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/http/multipart.hpp"

namespace countylink::http {
namespace {

struct Part {
    std::map<std::string, std::string> headers;
    std::string data;
    bool ended = false;
};

class Collect final : public PartHandler {
  public:
    void on_part_begin(const std::map<std::string, std::string>& headers) override {
        parts.push_back({headers, {}, false});
    }
    void on_part_data(std::span<const std::byte> data) override {
        parts.back().data.append(reinterpret_cast<const char*>(data.data()), data.size());
    }
    void on_part_end() override { parts.back().ended = true; }
    std::vector<Part> parts;
};

const std::string kBody =
    "preamble to ignore\r\n"
    "--xyz\r\nContent-Type: application/dicom\r\nX-Extra:  a b \r\n\r\n"
    "first\r\n--xy not a delimiter\r\nstill first\r\n"
    "--xyz\r\ncontent-type: application/dicom\r\n\r\n"
    "\r\n"  // the second part's data is exactly CRLF
    "\r\n--xyz--\r\nepilogue";

std::vector<Part> parse_in_chunks(const std::string& body, std::size_t chunk) {
    Collect out;
    MultipartParser parser("xyz", out);
    for (std::size_t at = 0; at < body.size(); at += chunk) {
        const auto piece = body.substr(at, chunk);
        parser.feed(std::as_bytes(std::span(piece.data(), piece.size())));
    }
    parser.finish();
    return out.parts;
}

TEST(Multipart, SameResultForEveryChunkSize) {
    for (std::size_t chunk = 1; chunk <= kBody.size(); ++chunk) {
        SCOPED_TRACE(chunk);
        const auto parts = parse_in_chunks(kBody, chunk);
        ASSERT_EQ(parts.size(), 2u);
        EXPECT_EQ(parts[0].headers.at("content-type"), "application/dicom");
        EXPECT_EQ(parts[0].headers.at("x-extra"), "a b");
        EXPECT_EQ(parts[0].data, "first\r\n--xy not a delimiter\r\nstill first");
        EXPECT_EQ(parts[1].data, "\r\n");
        EXPECT_TRUE(parts[0].ended && parts[1].ended);
    }
}

TEST(Multipart, BodyWithoutPreambleOrEpilogue) {
    const auto parts = parse_in_chunks("--xyz\r\nContent-Type: a/b\r\n\r\nDATA\r\n--xyz--", 7);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].data, "DATA");
}

TEST(Multipart, TruncatedBodyIsAnError) {
    Collect out;
    MultipartParser parser("xyz", out);
    const std::string body = "--xyz\r\nContent-Type: a/b\r\n\r\nDATA";
    parser.feed(std::as_bytes(std::span(body.data(), body.size())));
    EXPECT_THROW(parser.finish(), MultipartError);
}

TEST(Multipart, OversizedHeadersAreRefused) {
    Collect out;
    MultipartParser parser("xyz", out);
    const std::string body = "--xyz\r\nX: " + std::string(20000, 'a');
    EXPECT_THROW(parser.feed(std::as_bytes(std::span(body.data(), body.size()))), MultipartError);
}

TEST(Multipart, HeaderParameters) {
    const std::string v = R"(multipart/related; type="application/dicom"; boundary=abc123)";
    EXPECT_EQ(header_parameter(v, "boundary"), "abc123");
    EXPECT_EQ(header_parameter(v, "type"), "application/dicom");
    EXPECT_EQ(header_parameter(v, "start"), std::nullopt);
    EXPECT_EQ(header_parameter("multipart/related;BOUNDARY=\"q r\"", "boundary"), "q r");
}

}  // namespace
}  // namespace countylink::http
