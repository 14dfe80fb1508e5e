#include "objects.hpp"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "attributes.hpp"
#include "dcmtk/config/osconfig.h"  // must precede other DCMTK headers
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "ecg.hpp"
#include "phantoms.hpp"
#include "random.hpp"

namespace countylink::synth {

namespace {

// Salts separating the random streams of one object.
enum class Stream : std::uint64_t { object = 0x4f42, anatomy = 0x414e };

// The random stream for pixel/waveform content of one object.
Rng object_rng(const ObjectContext& context) {
    return Rng{
        mix_keys(context.options.seed, Stream::object, context.options.kind, context.slot.index)};
}

// Content time of an object: a couple of minutes into the study, one second per instance.
std::uint64_t content_seconds(const ObjectContext& context) {
    return context.study.study_seconds + 120U + context.slot.instance;
}

// Writes the common modules for this object.
void put_common_for(DcmDataset& dataset, const ObjectContext& context) {
    const Options& options = context.options;
    put_common(dataset, context.study, context.slot, profile_of(options.kind),
               make_uid(options.seed, options.kind, UidRole::instance, context.slot.study,
                        context.slot.instance),
               content_seconds(context));
}

// Writes AcquisitionDate/Time equal to the content date/time.
void put_acquisition_time(DcmDataset& dataset, const ObjectContext& context) {
    put(dataset, DCM_AcquisitionDate, context.study.study_date);
    put(dataset, DCM_AcquisitionTime, dicom_time(content_seconds(context)));
}

// Writes the Image Pixel description of a single-sample image.
void put_grey_pixel_module(DcmDataset& dataset, std::uint16_t rows, std::uint16_t cols,
                           const std::string& photometric, std::uint16_t bits_stored) {
    put_us(dataset, DCM_SamplesPerPixel, 1);
    put(dataset, DCM_PhotometricInterpretation, photometric);
    put_us(dataset, DCM_Rows, rows);
    put_us(dataset, DCM_Columns, cols);
    put_us(dataset, DCM_BitsAllocated, 16);
    put_us(dataset, DCM_BitsStored, bits_stored);
    put_us(dataset, DCM_HighBit, static_cast<Uint16>(bits_stored - 1U));
    put_us(dataset, DCM_PixelRepresentation, 0);
}

// Stores 16-bit pixel data (OW).
void put_pixels(DcmDataset& dataset, const std::vector<std::uint16_t>& pixels) {
    const OFCondition status =
        dataset.putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());
    if (status.bad())
        throw std::runtime_error(std::string{"cannot set PixelData: "} + status.text());
}

// Fills a CT Image Storage object: one axial slice of the series' chest scan.
void build_ct(DcmDataset& dataset, const ObjectContext& context) {
    const Options& options = context.options;
    const std::uint16_t rows = options.rows.value_or(512);
    const std::uint16_t cols = options.cols.value_or(512);
    const double pixel_mm = 360.0 / std::max(rows, cols);
    constexpr double kSliceMm = 5.0;
    const double z = -40.0 - (context.slot.instance - 1U) * kSliceMm;
    const double position =
        context.slot.series_size > 1
            ? static_cast<double>(context.slot.instance - 1U) / (context.slot.series_size - 1U)
            : 0.5;

    put_common_for(dataset, context);
    put_acquisition_time(dataset, context);
    put(dataset, DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL");
    put(dataset, DCM_AcquisitionNumber, "1");
    put(dataset, DCM_PatientPosition, "HFS");
    put(dataset, DCM_FrameOfReferenceUID, context.study.frame_of_reference_uid);
    put_empty(dataset, DCM_PositionReferenceIndicator);
    put(dataset, DCM_ScanOptions, "HELICAL MODE");
    put(dataset, DCM_KVP, "120");
    put(dataset, DCM_DataCollectionDiameter, "500");
    put(dataset, DCM_ReconstructionDiameter, ds(pixel_mm * std::max(rows, cols)));
    put(dataset, DCM_DistanceSourceToDetector, "949.075");
    put(dataset, DCM_DistanceSourceToPatient, "541");
    put(dataset, DCM_GantryDetectorTilt, "0");
    put(dataset, DCM_TableHeight, "160");
    put(dataset, DCM_RotationDirection, "CW");
    put(dataset, DCM_ExposureTime, "600");
    put(dataset, DCM_XRayTubeCurrent, "220");
    put(dataset, DCM_Exposure, "132");
    put(dataset, DCM_FilterType, "BODY FILTER");
    put(dataset, DCM_FocalSpots, "0.7");
    put(dataset, DCM_ConvolutionKernel, "STANDARD");
    put(dataset, DCM_SliceThickness, ds(kSliceMm));
    put(dataset, DCM_ImagePositionPatient,
        ds(-(cols / 2.0 - 0.5) * pixel_mm) + "\\" + ds(-(rows / 2.0 - 0.5) * pixel_mm) + "\\" +
            ds(z));
    put(dataset, DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
    put(dataset, DCM_PixelSpacing, ds(pixel_mm) + "\\" + ds(pixel_mm));
    put(dataset, DCM_SliceLocation, ds(z));
    put_grey_pixel_module(dataset, rows, cols, "MONOCHROME2", 12);
    put(dataset, DCM_RescaleIntercept, "-1024");
    put(dataset, DCM_RescaleSlope, "1");
    put(dataset, DCM_RescaleType, "HU");
    put(dataset, DCM_WindowCenter, "40\\-600");
    put(dataset, DCM_WindowWidth, "400\\1500");
    put(dataset, DCM_WindowCenterWidthExplanation, "SOFT TISSUE\\LUNG");
    put(dataset, DCM_LossyImageCompression, "00");

    Rng rng = object_rng(context);
    const std::uint64_t anatomy =
        mix_keys(options.seed, Stream::anatomy, options.kind, context.slot.study);
    put_pixels(dataset, ct_slice(rows, cols, pixel_mm, position, anatomy, rng));
}

// Fills a DX (For Presentation) or CR object: a PA chest radiograph of varying size.
void build_radiograph(DcmDataset& dataset, const ObjectContext& context) {
    const Options& options = context.options;
    const bool is_dx = options.kind == Kind::dx;
    Rng rng = object_rng(context);
    const std::uint16_t rows =
        options.rows.value_or(static_cast<std::uint16_t>(rng.between(240, 496)));
    const std::uint16_t cols =
        options.cols.value_or(static_cast<std::uint16_t>(rng.between(240, 496)));
    const double spacing = 430.0 / std::max(rows, cols);  // 43 cm detector

    put_common_for(dataset, context);
    put_acquisition_time(dataset, context);
    put(dataset, DCM_ImageType, "ORIGINAL\\PRIMARY");
    put(dataset, DCM_ViewPosition, "PA");
    put(dataset, DCM_PatientOrientation, "L\\F");
    put(dataset, DCM_KVP, "120");
    put(dataset, DCM_ExposureTime, "8");
    put(dataset, DCM_XRayTubeCurrent, "320");
    put(dataset, DCM_Exposure, "3");
    put(dataset, DCM_DistanceSourceToDetector, "1800");
    put(dataset, DCM_ImagerPixelSpacing, ds(spacing) + "\\" + ds(spacing));
    put(dataset, DCM_LossyImageCompression, "00");
    put(dataset, DCM_BurnedInAnnotation, "NO");

    std::vector<std::uint16_t> pixels = chest_radiograph(rows, cols, rng);
    if (is_dx) {
        put(dataset, DCM_PresentationIntentType, "FOR PRESENTATION");
        put(dataset, DCM_ImageLaterality, "U");
        put_code(dataset, DCM_AnatomicRegionSequence, {"43799004", "SCT", "Chest"});
        put_empty(dataset, DCM_AcquisitionContextSequence);
        put_code(dataset, DCM_ViewCodeSequence, {"399348003", "SCT", "postero-anterior"});
        put(dataset, DCM_PositionerType, "COLUMN");
        put(dataset, DCM_DetectorType, "SCINTILLATOR");
        put(dataset, DCM_DetectorConfiguration, "AREA");
        put(dataset, DCM_DetectorID, "DR43-0001");
        put(dataset, DCM_PixelIntensityRelationship, "LOG");
        put_ss(dataset, DCM_PixelIntensityRelationshipSign, -1);  // higher = less beam
        put(dataset, DCM_RescaleIntercept, "0");
        put(dataset, DCM_RescaleSlope, "1");
        put(dataset, DCM_RescaleType, "US");
        put(dataset, DCM_PresentationLUTShape, "IDENTITY");
        put(dataset, DCM_WindowCenter, "1700");
        put(dataset, DCM_WindowWidth, "3000");
        put_grey_pixel_module(dataset, rows, cols, "MONOCHROME2", 12);
    } else {
        for (auto& value : pixels) value = static_cast<std::uint16_t>(4095U - value);
        put(dataset, DCM_PlateID, "CR35-0001");
        put(dataset, DCM_WindowCenter, "2395");
        put(dataset, DCM_WindowWidth, "3000");
        put_grey_pixel_module(dataset, rows, cols, "MONOCHROME1", 12);
    }
    put_pixels(dataset, pixels);
}

// Fills an Ultrasound Image Storage object: one RGB B-mode abdominal image.
void build_us(DcmDataset& dataset, const ObjectContext& context) {
    const Options& options = context.options;
    const std::uint16_t rows = options.rows.value_or(480);
    const std::uint16_t cols = options.cols.value_or(640);
    const SectorGeometry sector = sector_geometry(rows, cols);

    put_common_for(dataset, context);
    put_acquisition_time(dataset, context);
    put(dataset, DCM_ImageType, "ORIGINAL\\PRIMARY\\ABDOMINAL\\0001");
    put_empty(dataset, DCM_PatientOrientation);
    put_us(dataset, DCM_SamplesPerPixel, 3);
    put(dataset, DCM_PhotometricInterpretation, "RGB");
    put_us(dataset, DCM_PlanarConfiguration, 0);
    put_us(dataset, DCM_Rows, rows);
    put_us(dataset, DCM_Columns, cols);
    put_us(dataset, DCM_BitsAllocated, 8);
    put_us(dataset, DCM_BitsStored, 8);
    put_us(dataset, DCM_HighBit, 7);
    put_us(dataset, DCM_PixelRepresentation, 0);
    put(dataset, DCM_LossyImageCompression, "00");
    put(dataset, DCM_BurnedInAnnotation, "NO");
    put(dataset, DCM_TransducerData, "C5-2");
    put(dataset, DCM_ProcessingFunction, "ABDOMEN GEN");
    put(dataset, DCM_MechanicalIndex, "1.1");
    put(dataset, DCM_SoftTissueThermalIndex, "0.4");
    put(dataset, DCM_DepthOfScanField, ds(sector.depth_cm * 10.0, 0));

    DcmItem& region = append_item(dataset, DCM_SequenceOfUltrasoundRegions);
    const double half_width = sector.r_max * std::sin(sector.half_angle);
    const double cm_per_pixel = sector.depth_cm / (sector.r_max - sector.r_min);
    put_us(region, DCM_RegionSpatialFormat, 1);  // 2D
    put_us(region, DCM_RegionDataType, 1);       // tissue
    put_ul(region, DCM_RegionFlags, 0);
    put_ul(region, DCM_RegionLocationMinX0,
           static_cast<Uint32>(std::lround(sector.apex_x - half_width)));
    put_ul(region, DCM_RegionLocationMinY0, static_cast<Uint32>(std::lround(sector.apex_y)));
    put_ul(region, DCM_RegionLocationMaxX1,
           static_cast<Uint32>(std::lround(sector.apex_x + half_width)));
    put_ul(region, DCM_RegionLocationMaxY1,
           static_cast<Uint32>(std::lround(sector.apex_y + sector.r_max)));
    put_us(region, DCM_PhysicalUnitsXDirection, 3);  // cm
    put_us(region, DCM_PhysicalUnitsYDirection, 3);
    put_fd(region, DCM_PhysicalDeltaX, cm_per_pixel);
    put_fd(region, DCM_PhysicalDeltaY, cm_per_pixel);
    put_sl(region, DCM_ReferencePixelX0, static_cast<Sint32>(std::lround(sector.apex_x)));
    put_sl(region, DCM_ReferencePixelY0, static_cast<Sint32>(std::lround(sector.apex_y)));
    put_ul(region, DCM_TransducerFrequency, 3500);  // kHz

    Rng rng = object_rng(context);
    const std::vector<std::uint8_t> rgb = ultrasound_rgb(rows, cols, rng);
    const OFCondition status =
        dataset.putAndInsertUint8Array(DCM_PixelData, rgb.data(), rgb.size());
    if (status.bad())
        throw std::runtime_error(std::string{"cannot set PixelData: "} + status.text());
}

// Fills a 12-Lead ECG Waveform object: 10 s of resting sinus rhythm.
void build_ecg(DcmDataset& dataset, const ObjectContext& context) {
    put_common_for(dataset, context);
    Rng rng = object_rng(context);
    const EcgTrace trace =
        synthesize_ecg(context.options.sample_rate, 10.0, rng.uniform(64.0, 82.0), rng);
    put_ecg_waveform(dataset, trace,
                     context.study.study_date + dicom_time(content_seconds(context)));
}

// Fills everything of a Multi-frame Grayscale Word SC object except Pixel Data.
void build_multiframe_header(DcmDataset& dataset, const ObjectContext& context) {
    const Options& options = context.options;
    put_common_for(dataset, context);
    put(dataset, DCM_ConversionType, "SYN");
    put(dataset, DCM_ImageType, "DERIVED\\SECONDARY");
    put_empty(dataset, DCM_PatientOrientation);
    put_grey_pixel_module(dataset, options.rows.value_or(512), options.cols.value_or(512),
                          "MONOCHROME2", 12);
    put(dataset, DCM_NumberOfFrames, std::to_string(options.frames));
    const OFCondition status = dataset.putAndInsertTagKey(DCM_FrameIncrementPointer, DCM_FrameTime);
    if (status.bad())
        throw std::runtime_error(std::string{"cannot set FrameIncrementPointer: "} + status.text());
    put(dataset, DCM_FrameTime, "33.3");
    put(dataset, DCM_CineRate, "30");
    put(dataset, DCM_RescaleIntercept, "0");
    put(dataset, DCM_RescaleSlope, "1");
    put(dataset, DCM_RescaleType, "US");
    put(dataset, DCM_PresentationLUTShape, "IDENTITY");
    put(dataset, DCM_WindowCenter, "1600");
    put(dataset, DCM_WindowWidth, "3200");
    put(dataset, DCM_BurnedInAnnotation, "NO");
}

// Transfer syntax to write with.
E_TransferSyntax xfer_of(Syntax syntax) {
    return syntax == Syntax::implicit_le ? EXS_LittleEndianImplicit : EXS_LittleEndianExplicit;
}

// Saves `file` as Part-10 at `path`; throws with the DCMTK reason on failure.
void save(DcmFileFormat& file, const std::filesystem::path& path, Syntax syntax) {
    errno = 0;
    const OFCondition status = file.saveFile(path.c_str(), xfer_of(syntax), EET_ExplicitLength,
                                             EGL_withoutGL, EPD_noChange);
    if (status.bad()) {
        const int error = errno;  // DCMTK's text is generic; the OS reason is more useful
        throw std::runtime_error("cannot write " + path.string() + ": " +
                                 (error != 0 ? std::strerror(error) : status.text()) +
                                 "; check free space and permissions of " +
                                 path.parent_path().string());
    }
}

// Closes a C stream.
struct CloseFile {
    void operator()(std::FILE* file) const { static_cast<void>(std::fclose(file)); }
};

// Throws "cannot write <path>: <errno text>; ...".
[[noreturn]] void throw_write_error(const std::filesystem::path& path, int error) {
    throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(error) +
                             "; check free space and permissions of " +
                             path.parent_path().string());
}

// Writes the mf object: the DCMTK-written header, then (7FE0,0010) OW with an explicit
// 32-bit length, then the frames generated a band of rows at a time.
std::uint64_t write_multiframe(const std::filesystem::path& path, const ObjectContext& context,
                               const BytesWritten& on_bytes) {
    const Options& options = context.options;
    const std::uint16_t rows = options.rows.value_or(512);
    const std::uint16_t cols = options.cols.value_or(512);
    const std::uint64_t frame_bytes = std::uint64_t{rows} * cols * 2U;
    const std::uint64_t pixel_bytes = frame_bytes * options.frames;  // always even
    if (pixel_bytes > kMaxPixelDataBytes) {
        throw std::runtime_error("--frames/--rows/--cols: Pixel Data of " +
                                 std::to_string(pixel_bytes) +
                                 " bytes exceeds the 4 GiB DICOM element limit; use fewer frames");
    }
    {
        DcmFileFormat file;
        build_multiframe_header(*file.getDataset(), context);
        save(file, path, options.syntax);
    }

    std::unique_ptr<std::FILE, CloseFile> out{std::fopen(path.c_str(), "ab")};
    if (!out) throw_write_error(path, errno);
    // Element header: tag (group, element) little endian, VR "OW" + 2 reserved bytes in
    // explicit VR, then the 32-bit length.
    std::vector<unsigned char> header{0xE0, 0x7F, 0x10, 0x00};
    if (options.syntax == Syntax::explicit_le) header.insert(header.end(), {'O', 'W', 0, 0});
    for (int shift = 0; shift < 32; shift += 8) {
        header.push_back(static_cast<unsigned char>((pixel_bytes >> shift) & 0xFFU));
    }
    std::uint64_t written = 0;
    if (std::fwrite(header.data(), 1, header.size(), out.get()) != header.size()) {
        throw_write_error(path, errno);
    }

    Rng rng = object_rng(context);
    const CineFrames cine{rows, cols};
    const std::uint32_t band_rows =
        std::max<std::uint32_t>(1U, static_cast<std::uint32_t>((1U << 20U) / (cols * 2U)));
    std::vector<std::uint16_t> band(static_cast<std::size_t>(band_rows) * cols);
    std::vector<unsigned char> bytes(band.size() * 2U);
    for (std::uint32_t frame = 0; frame < options.frames; ++frame) {
        for (std::uint32_t first = 0; first < rows; first += band_rows) {
            const std::uint32_t n = std::min<std::uint32_t>(band_rows, rows - first);
            const std::size_t count = static_cast<std::size_t>(n) * cols;
            cine.fill(frame, first, std::span{band}.first(count), rng);
            for (std::size_t i = 0; i < count; ++i) {  // little endian whatever the host
                bytes[2 * i] = static_cast<unsigned char>(band[i] & 0xFFU);
                bytes[2 * i + 1] = static_cast<unsigned char>(band[i] >> 8U);
            }
            if (std::fwrite(bytes.data(), 1, count * 2U, out.get()) != count * 2U) {
                throw_write_error(path, errno);
            }
            written += count * 2U;
            if (on_bytes) on_bytes(written);
        }
    }
    if (std::fclose(out.release()) != 0) throw_write_error(path, errno);
    return std::filesystem::file_size(path);
}

}  // namespace

std::uint64_t write_object(const std::filesystem::path& path, const ObjectContext& context,
                           const BytesWritten& on_bytes) {
    if (context.options.kind == Kind::mf) return write_multiframe(path, context, on_bytes);
    DcmFileFormat file;
    DcmDataset& dataset = *file.getDataset();
    switch (context.options.kind) {
        case Kind::ct:
            build_ct(dataset, context);
            break;
        case Kind::dx:
        case Kind::cr:
            build_radiograph(dataset, context);
            break;
        case Kind::us:
            build_us(dataset, context);
            break;
        case Kind::ecg:
            build_ecg(dataset, context);
            break;
        case Kind::mf:
            break;
    }
    save(file, path, context.options.syntax);
    const std::uint64_t size = std::filesystem::file_size(path);
    if (on_bytes) on_bytes(size);
    return size;
}

}  // namespace countylink::synth
