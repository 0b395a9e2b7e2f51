#include "loadgen/hlog.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <ctime>
#include <sstream>
#include <stdexcept>

namespace cmb::loadgen {
namespace {

// HdrHistogram's encoding cookies (AbstractHistogram.java). The low nibble's
// 0x10 bit marks V2's ZigZag LEB128 counts.
constexpr uint32_t kV2Cookie = 0x1c849303 | 0x10;
constexpr uint32_t kV2CompressedCookie = 0x1c849304 | 0x10;
constexpr uint32_t kV1CookieBase = 0x1c849301;
constexpr uint32_t kV1CompressedCookieBase = 0x1c849302;
constexpr uint32_t kV2CookieBase = 0x1c849303;
constexpr uint32_t kV2CompressedCookieBase = 0x1c849304;
constexpr size_t kHeaderBytes = 40;
// A decoded histogram is at most this big: a bound against zlib bombs.
constexpr size_t kMaxPayloadBytes = size_t{64} << 20;

// LatencyHistogram is HdrHistogram(lowest 1, 2 significant digits): 2 x 10^2
// needs 2^8 sub-buckets, half of them 2^7, which is kSubBucketBits.
static_assert(LatencyHistogram::kSubBucketBits == 7);
constexpr int kSignificantDigits = 2;

uint32_t cookie_base(uint32_t cookie) { return cookie & ~0xf0u; }

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
// ZigZag, then LEB128 in at most 9 bytes: the ninth carries 8 bits.
void put_zigzag(std::string& out, int64_t value) {
  uint64_t v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  for (int i = 0; i < 8 && v >= 0x80; ++i, v >>= 7) out += static_cast<char>((v & 0x7f) | 0x80);
  out += static_cast<char>(v & 0xff);
}

// Reads big-endian fields and LEB128 counts, throwing at the end of input.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return at_ >= bytes_.size(); }
  uint64_t fixed(int width) {
    if (bytes_.size() - at_ < static_cast<size_t>(width))
      throw std::runtime_error("the histogram is truncated");
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(bytes_[at_++]);
    return v;
  }
  int64_t zigzag() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint64_t byte = fixed(1);
      if (shift == 56) {  // the ninth byte: all 8 bits are value
        v |= byte << 56;
        break;
      }
      v |= (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }

 private:
  std::string_view bytes_;
  size_t at_ = 0;
};

std::string deflate_bytes(const std::string& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK)
    throw std::runtime_error("zlib could not compress a histogram");
  out.resize(size);
  return out;
}

std::string inflate_bytes(std::string_view compressed) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) throw std::runtime_error("zlib: inflateInit failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  std::array<char, 16384> chunk{};
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = chunk.size();
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - stream.avail_out);
    if (out.size() > kMaxPayloadBytes) rc = Z_MEM_ERROR;
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;  // input ended early
  }
  inflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("the compressed histogram does not inflate");
  return out;
}

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16;
    if (i + 1 < bytes.size())
      group |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return out;
}

std::string unbase64(std::string_view text) {
  std::string out;
  uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) throw std::runtime_error("the histogram is not base64");
    group = (group << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((group >> bits) & 0xff);
    }
  }
  return out;
}

// HdrHistogram's bucket arithmetic for any precision and lowest value: the
// range of values counts index `index` stands for.
struct Layout {
  int half_count_magnitude;
  int unit_magnitude;

  Layout(int digits, uint64_t lowest) {
    if (digits < 0 || digits > 5) throw std::runtime_error("the histogram's precision is invalid");
    if (lowest < 1) throw std::runtime_error("the histogram's lowest value is invalid");
    uint64_t single_unit = 2;
    for (int i = 0; i < digits; ++i) single_unit *= 10;
    const int count_magnitude = static_cast<int>(std::bit_width(single_unit - 1));
    half_count_magnitude = std::max(count_magnitude, 1) - 1;
    unit_magnitude = static_cast<int>(std::bit_width(lowest)) - 1;
  }
  // The middle of index's range, as LatencyHistogram reports a bucket.
  uint64_t value(size_t index) const {
    const uint64_t half_count = uint64_t{1} << half_count_magnitude;
    int64_t bucket = static_cast<int64_t>(index >> half_count_magnitude) - 1;
    uint64_t sub_bucket = (index & (half_count - 1)) + half_count;
    if (bucket < 0) {
      sub_bucket -= half_count;
      bucket = 0;
    }
    const int shift = static_cast<int>(bucket) + unit_magnitude;
    if (shift + static_cast<int>(std::bit_width(sub_bucket)) > 62)
      throw std::runtime_error("the histogram holds values beyond 2^62");
    return (sub_bucket << shift) + ((uint64_t{1} << shift) - 1) / 2;
  }
};

std::string date_text(double epoch_s) {
  const auto seconds = static_cast<std::time_t>(epoch_s);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%a %b %d %H:%M:%S UTC %Y", &utc);
  return text;
}

}  // namespace

std::string encode_compressed_histogram(const LatencyHistogram& h) {
  size_t limit = 0;  // one past the last bucket with a count
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
    if (h.bucket_count(i) > 0) limit = i + 1;
  std::string payload;
  for (size_t i = 0; i < limit;) {
    const uint64_t count = h.bucket_count(i++);
    if (count > 0) {
      put_zigzag(payload, static_cast<int64_t>(count));
      continue;
    }
    int64_t zeros = 1;
    while (i < limit && h.bucket_count(i) == 0) ++zeros, ++i;
    put_zigzag(payload, zeros > 1 ? -zeros : 0);
  }
  std::string raw;
  put_u32(raw, kV2Cookie);
  put_u32(raw, static_cast<uint32_t>(payload.size()));
  put_u32(raw, 0);  // normalizing index offset
  put_u32(raw, kSignificantDigits);
  put_u64(raw, 1);  // lowest discernible value
  put_u64(raw, LatencyHistogram::kMaxValue);
  put_u64(raw, std::bit_cast<uint64_t>(1.0));  // integer to double ratio
  raw += payload;
  const std::string compressed = deflate_bytes(raw);
  std::string out;
  put_u32(out, kV2CompressedCookie);
  put_u32(out, static_cast<uint32_t>(compressed.size()));
  return out + compressed;
}

LatencyHistogram decode_compressed_histogram(std::string_view bytes) {
  Reader outer(bytes);
  const auto compressed_cookie = static_cast<uint32_t>(outer.fixed(4));
  const uint32_t outer_base = cookie_base(compressed_cookie);
  if (outer_base != kV2CompressedCookieBase && outer_base != kV1CompressedCookieBase)
    throw std::runtime_error(
        fmt::format("not a compressed V1 or V2 HdrHistogram (cookie {:#x})", compressed_cookie));
  const uint64_t length = outer.fixed(4);
  if (length > bytes.size() - 8) throw std::runtime_error("the compressed histogram is truncated");
  const std::string raw = inflate_bytes(bytes.substr(8, length));

  Reader in(raw);
  const auto cookie = static_cast<uint32_t>(in.fixed(4));
  const uint32_t base = cookie_base(cookie);
  if (base != kV2CookieBase && base != kV1CookieBase)
    throw std::runtime_error(fmt::format("not a V1 or V2 HdrHistogram (cookie {:#x})", cookie));
  const uint64_t payload_bytes = in.fixed(4);
  const uint64_t normalizing_offset = in.fixed(4);
  const auto digits = static_cast<int>(in.fixed(4));
  const uint64_t lowest = in.fixed(8);
  in.fixed(8);  // highest trackable value: ours is fixed
  const double ratio = std::bit_cast<double>(in.fixed(8));
  if (normalizing_offset != 0)
    throw std::runtime_error("a shifted HdrHistogram (normalizing index offset) is not supported");
  if (ratio != 1.0)
    throw std::runtime_error("a DoubleHistogram (values are not integers) is not supported");
  if (payload_bytes > raw.size() - kHeaderBytes)
    throw std::runtime_error("the histogram's payload is truncated");
  const Layout layout(digits, lowest);
  const int word = (base == kV2CookieBase) ? 0 : static_cast<int>(((cookie & 0xf0) >> 4) & 0xe);
  if (base == kV1CookieBase && word != 2 && word != 4 && word != 8)
    throw std::runtime_error("a V1 histogram with an invalid word size");

  Reader payload(std::string_view(raw).substr(kHeaderBytes, payload_bytes));
  LatencyHistogram h;
  size_t index = 0;
  while (!payload.done()) {
    const int64_t count = word == 0 ? payload.zigzag() : static_cast<int64_t>(payload.fixed(word));
    if (count < 0) {
      index += static_cast<size_t>(-count);  // a run of empty buckets
    } else {
      if (count > 0) h.record_n(layout.value(index), static_cast<uint64_t>(count));
      ++index;
    }
  }
  return h;
}

std::string format_interval_log(const HlogFile& log) {
  std::string out = "#[Logged with cmbench]\n#[Histogram log format version 1.3]\n";
  out += fmt::format("#[StartTime: {:.3f} (seconds since epoch), {}]\n", log.start_epoch_s,
                     date_text(log.start_epoch_s));
  out += fmt::format("#[BaseTime: {:.3f} (seconds since epoch)]\n", log.start_epoch_s);
  out +=
      "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
      "\"Interval_Compressed_Histogram\"\n";
  for (const auto& interval : log.intervals) {
    if (interval.tag.find_first_of(", \r\n") != std::string::npos)
      throw std::invalid_argument("an interval log tag cannot hold commas, spaces or line breaks");
    out += fmt::format("{}{:.3f},{:.3f},{:.3f},{}\n",
                       interval.tag.empty() ? "" : "Tag=" + interval.tag + ",", interval.start_s,
                       interval.length_s, static_cast<double>(interval.histogram.max()) / 1e6,
                       base64(encode_compressed_histogram(interval.histogram)));
  }
  return out;
}

HlogFile parse_interval_log(const std::string& text) {
  HlogFile log;
  double base_time = 0;
  bool have_base = false;
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto header_value = [&](std::string_view key) {
      try {
        return std::stod(line.substr(key.size()));
      } catch (const std::exception&) {
        throw std::runtime_error(fmt::format("line {}: a malformed {}", number, key));
      }
    };
    if (line.rfind("#[StartTime: ", 0) == 0) {
      log.start_epoch_s = header_value("#[StartTime: ");
    } else if (line.rfind("#[BaseTime: ", 0) == 0) {
      base_time = header_value("#[BaseTime: ");
      have_base = true;
    }
    if (line.empty() || line[0] == '#' || line[0] == '"' || line.rfind("StartTimestamp", 0) == 0)
      continue;
    HlogInterval interval;
    std::string_view rest(line);
    if (rest.rfind("Tag=", 0) == 0) {
      const size_t comma = rest.find(',');
      interval.tag = std::string(rest.substr(4, comma - 4));
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    }
    std::array<std::string_view, 4> fields;
    for (size_t i = 0; i < fields.size(); ++i) {
      const size_t comma = i + 1 < fields.size() ? rest.find(',') : rest.size();
      if (comma == std::string_view::npos)
        throw std::runtime_error(fmt::format("line {}: not an interval histogram line", number));
      fields[i] = rest.substr(0, comma);
      rest.remove_prefix(std::min(rest.size(), comma + 1));
    }
    try {
      const double stamp = std::stod(std::string(fields[0]));
      interval.length_s = std::stod(std::string(fields[1]));
      // HistogramLogReader's rule: with no BaseTime, a timestamp from before
      // the start time's year is relative to it.
      const bool absolute = have_base || stamp >= log.start_epoch_s - 365.0 * 24 * 3600;
      interval.start_s = (have_base ? base_time + stamp : stamp) -
                         (absolute && log.start_epoch_s > 0 ? log.start_epoch_s : 0);
      interval.histogram = decode_compressed_histogram(unbase64(fields[3]));
    } catch (const std::logic_error&) {
      throw std::runtime_error(fmt::format("line {}: a timestamp does not parse", number));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("line {}: {}", number, e.what()));
    }
    log.intervals.push_back(std::move(interval));
  }
  return log;
}

bool looks_like_interval_log(std::string_view text) {
  return text.starts_with("#[") || text.starts_with("\"StartTimestamp\"") ||
         text.starts_with("Tag=") || text.starts_with("HISTF");
}

}  // namespace cmb::loadgen
