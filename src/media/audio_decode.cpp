// Decoding with libsndfile from memory, the way python-soundfile's `SoundFile(...).read(dtype=
// "float32", always_2d=True)` does inside transformers' load_audio: sf_readf_float with
// libsndfile's default normalisation (integer PCM divided by 2^(bits-1)).
#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "gemma/audio.h"
#include "gemma/error.h"
#include "media/audio_signal.h"
#include "media/source.h"

namespace gemma {

namespace {

// A read-only file over caller-owned bytes for sf_open_virtual.
struct MemoryFile {
  std::string_view bytes;
  sf_count_t position = 0;
};

sf_count_t memory_length(void* user) {
  return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->bytes.size());
}

sf_count_t memory_seek(sf_count_t offset, int whence, void* user) {
  auto& file = *static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(file.bytes.size());
  sf_count_t base = 0;
  if (whence == SEEK_CUR) base = file.position;
  if (whence == SEEK_END) base = size;
  if (offset < -base || offset > size - base) return -1;
  file.position = base + offset;
  return file.position;
}

sf_count_t memory_read(void* out, sf_count_t count, void* user) {
  auto& file = *static_cast<MemoryFile*>(user);
  const auto available = static_cast<sf_count_t>(file.bytes.size()) - file.position;
  const sf_count_t n = std::clamp<sf_count_t>(count, 0, available);
  std::memcpy(out, file.bytes.data() + file.position, static_cast<size_t>(n));
  file.position += n;
  return n;
}

sf_count_t memory_write(const void*, sf_count_t, void*) { return 0; }

sf_count_t memory_tell(void* user) { return static_cast<MemoryFile*>(user)->position; }

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// Containers that transformers decodes only through torchcodec (TORCHCODEC_ONLY_FILETYPES) and
// libsndfile does not read at all, recognised by their signatures to say so plainly.
std::string_view torchcodec_only_container(std::string_view bytes) {
  if (bytes.size() >= 8 && bytes.substr(4, 4) == "ftyp") return "MP4/M4A/3GP";
  if (bytes.starts_with("\x1A\x45\xDF\xA3")) return "Matroska/WebM";
  if (bytes.starts_with("#!AMR")) return "AMR";
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      (static_cast<unsigned char>(bytes[1]) & 0xF6) == 0xF0) {
    return "AAC (ADTS)";  // MPEG sync word with layer bits 00; MP3 frames have layer bits != 00
  }
  return {};
}

[[noreturn]] void throw_open_error(std::string_view bytes, std::string_view name) {
  const int code = sf_error(nullptr);
  const std::string reason = sf_error_number(code);
  if (const auto container = torchcodec_only_container(bytes); !container.empty()) {
    throw UnsupportedError(fmt::format(
        "audio {}: {} audio is not supported (libsndfile reads WAV, FLAC, OGG, MP3, AIFF, ...)",
        name, container));
  }
  if (code == SF_ERR_UNSUPPORTED_ENCODING) {
    throw UnsupportedError(
        fmt::format("audio {}: libsndfile cannot decode this encoding ({})", name, reason));
  }
  throw ProcessorError(
      fmt::format("audio {}: not an audio file libsndfile can decode ({})", name, reason));
}

// Reads every frame, mixing each block down to mono so that memory holds one channel, and stops
// at the duration limit whatever the header claimed (check_duration throws).
std::vector<float> read_mono(SNDFILE* file, const SF_INFO& info, const AudioLoadOptions& options,
                             std::string_view name) {
  constexpr sf_count_t kBlockValues = 1 << 18;
  const sf_count_t block_frames = std::max<sf_count_t>(1, kBlockValues / info.channels);
  std::vector<float> block(static_cast<size_t>(block_frames * info.channels));
  std::vector<float> mono;
  if (info.frames != SF_COUNT_MAX) mono.reserve(static_cast<size_t>(info.frames));
  int64_t frames = 0;
  while (true) {
    const sf_count_t got = sf_readf_float(file, block.data(), block_frames);
    if (got <= 0) break;
    frames += got;
    media::check_duration(frames, info.samplerate, options, name);
    media::append_mono(
        std::span<const float>(block.data(), static_cast<size_t>(got) * info.channels),
        info.channels, mono);
  }
  if (const int code = sf_error(file); code != SF_ERR_NO_ERROR) {
    throw ProcessorError(fmt::format("audio {}: corrupt data after {} frames ({})", name, frames,
                                     sf_error_number(code)));
  }
  return mono;
}

}  // namespace

Audio decode_audio(std::string_view bytes, std::string_view name, int64_t target_rate,
                   const AudioLoadOptions& options) {
  media::check_load_arguments(target_rate, options, name);
  if (bytes.empty()) throw ProcessorError(fmt::format("audio {}: 0 bytes", name));
  MemoryFile memory{bytes};
  SF_VIRTUAL_IO io{memory_length, memory_seek, memory_read, memory_write, memory_tell};
  SF_INFO info{};
  SndfilePtr file(sf_open_virtual(&io, SFM_READ, &info, &memory));
  if (!file) throw_open_error(bytes, name);
  if (info.samplerate <= 0 || info.channels <= 0) {
    throw ProcessorError(fmt::format("audio {}: header declares {} Hz and {} channels", name,
                                     info.samplerate, info.channels));
  }
  if (info.frames != SF_COUNT_MAX) {
    media::check_duration(info.frames, info.samplerate, options, name);
    media::check_resampled_length(info.frames, info.samplerate, target_rate, options, name);
  }
  std::vector<float> mono = read_mono(file.get(), info, options, name);
  if (mono.empty()) throw ProcessorError(fmt::format("audio {}: no samples", name));
  media::check_finite(mono, info.samplerate, name);
  media::check_resampled_length(static_cast<int64_t>(mono.size()), info.samplerate, target_rate,
                                options, name);
  return media::resample_mono(std::move(mono), info.samplerate, target_rate, name);
}

Audio load_audio(std::string_view source, int64_t target_rate, const AudioLoadOptions& options,
                 const MediaLimits& limits) {
  const media::MediaBytes media = media::read_media(source, "audio", limits);
  return decode_audio(media.bytes, media.name, target_rate, options);
}

}  // namespace gemma
