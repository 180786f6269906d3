from qencode_gateway_client.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TranscodingQuery(_message.Message):
    __slots__ = ("source", "stitch", "format", "callback_url", "use_subtask_callback", "refresh_playlist", "retry_on_error", "upscale", "encoder_version")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STITCH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    USE_SUBTASK_CALLBACK_FIELD_NUMBER: _ClassVar[int]
    REFRESH_PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    RETRY_ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    UPSCALE_FIELD_NUMBER: _ClassVar[int]
    ENCODER_VERSION_FIELD_NUMBER: _ClassVar[int]
    source: str
    stitch: _containers.RepeatedCompositeFieldContainer[StitchItem]
    format: _containers.RepeatedCompositeFieldContainer[Format]
    callback_url: str
    use_subtask_callback: int
    refresh_playlist: int
    retry_on_error: int
    upscale: int
    encoder_version: int
    def __init__(self, source: _Optional[str] = ..., stitch: _Optional[_Iterable[_Union[StitchItem, _Mapping]]] = ..., format: _Optional[_Iterable[_Union[Format, _Mapping]]] = ..., callback_url: _Optional[str] = ..., use_subtask_callback: _Optional[int] = ..., refresh_playlist: _Optional[int] = ..., retry_on_error: _Optional[int] = ..., upscale: _Optional[int] = ..., encoder_version: _Optional[int] = ...) -> None: ...

class NumberOrString(_message.Message):
    __slots__ = ("number", "text")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    number: float
    text: str
    def __init__(self, number: _Optional[float] = ..., text: _Optional[str] = ...) -> None: ...

class StitchItem(_message.Message):
    __slots__ = ("url", "clip")
    URL_FIELD_NUMBER: _ClassVar[int]
    CLIP_FIELD_NUMBER: _ClassVar[int]
    url: str
    clip: StitchClip
    def __init__(self, url: _Optional[str] = ..., clip: _Optional[_Union[StitchClip, _Mapping]] = ...) -> None: ...

class StitchClip(_message.Message):
    __slots__ = ("url", "start_time", "duration")
    URL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    url: str
    start_time: NumberOrString
    duration: NumberOrString
    def __init__(self, url: _Optional[str] = ..., start_time: _Optional[_Union[NumberOrString, _Mapping]] = ..., duration: _Optional[_Union[NumberOrString, _Mapping]] = ...) -> None: ...

class Format(_message.Message):
    __slots__ = ("output", "file_extension", "start_time", "duration", "destination", "size", "width", "height", "resolution", "rotate", "aspect_ratio", "resize_mode", "framerate", "framerate_limit", "keyframe", "quality", "bitrate", "two_pass", "pix_format", "packager_version", "video_codec", "profile", "video_codec_parameters", "tag_video", "hdr_to_sdr", "audio_codec", "audio_bitrate", "audio_sample_rate", "audio_channels_number", "audio_mute", "audio_pan", "playlist_name", "stream", "segment_duration", "i_frames_only", "fmp4", "create_m3u8_playlist", "separate_audio", "single_folder", "time", "frame_number", "interval", "image_format", "sprite", "columns", "subtitles", "logo", "color_space", "color_range", "color_trc", "color_primaries", "optimize_bitrate", "min_crf", "max_crf", "adjust_crf", "tag", "incremental_tag", "cenc_drm", "fps_drm", "encryption", "buydrm_drm", "metadata_version", "audio_copy", "subtitles_copy", "video_copy", "metadata_copy", "deinterlace", "transcript", "transcript_name", "json", "json_name", "srt", "srt_name", "vtt", "vtt_name", "mode", "language", "translate_languages", "allow_soft_fail", "vmaf_model", "distorted", "n_subsample", "shortest", "keep_360_metadata", "inject_360_metadata")
    class AudioPanEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    FILE_EXTENSION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    ROTATE_FIELD_NUMBER: _ClassVar[int]
    ASPECT_RATIO_FIELD_NUMBER: _ClassVar[int]
    RESIZE_MODE_FIELD_NUMBER: _ClassVar[int]
    FRAMERATE_FIELD_NUMBER: _ClassVar[int]
    FRAMERATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    BITRATE_FIELD_NUMBER: _ClassVar[int]
    TWO_PASS_FIELD_NUMBER: _ClassVar[int]
    PIX_FORMAT_FIELD_NUMBER: _ClassVar[int]
    PACKAGER_VERSION_FIELD_NUMBER: _ClassVar[int]
    VIDEO_CODEC_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    VIDEO_CODEC_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    TAG_VIDEO_FIELD_NUMBER: _ClassVar[int]
    HDR_TO_SDR_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CODEC_FIELD_NUMBER: _ClassVar[int]
    AUDIO_BITRATE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CHANNELS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AUDIO_MUTE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_PAN_FIELD_NUMBER: _ClassVar[int]
    PLAYLIST_NAME_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DURATION_FIELD_NUMBER: _ClassVar[int]
    I_FRAMES_ONLY_FIELD_NUMBER: _ClassVar[int]
    FMP4_FIELD_NUMBER: _ClassVar[int]
    CREATE_M3U8_PLAYLIST_FIELD_NUMBER: _ClassVar[int]
    SEPARATE_AUDIO_FIELD_NUMBER: _ClassVar[int]
    SINGLE_FOLDER_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    FRAME_NUMBER_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SPRITE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    SUBTITLES_FIELD_NUMBER: _ClassVar[int]
    LOGO_FIELD_NUMBER: _ClassVar[int]
    COLOR_SPACE_FIELD_NUMBER: _ClassVar[int]
    COLOR_RANGE_FIELD_NUMBER: _ClassVar[int]
    COLOR_TRC_FIELD_NUMBER: _ClassVar[int]
    COLOR_PRIMARIES_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZE_BITRATE_FIELD_NUMBER: _ClassVar[int]
    MIN_CRF_FIELD_NUMBER: _ClassVar[int]
    MAX_CRF_FIELD_NUMBER: _ClassVar[int]
    ADJUST_CRF_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    INCREMENTAL_TAG_FIELD_NUMBER: _ClassVar[int]
    CENC_DRM_FIELD_NUMBER: _ClassVar[int]
    FPS_DRM_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_FIELD_NUMBER: _ClassVar[int]
    BUYDRM_DRM_FIELD_NUMBER: _ClassVar[int]
    METADATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    AUDIO_COPY_FIELD_NUMBER: _ClassVar[int]
    SUBTITLES_COPY_FIELD_NUMBER: _ClassVar[int]
    VIDEO_COPY_FIELD_NUMBER: _ClassVar[int]
    METADATA_COPY_FIELD_NUMBER: _ClassVar[int]
    DEINTERLACE_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_NAME_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    JSON_NAME_FIELD_NUMBER: _ClassVar[int]
    SRT_FIELD_NUMBER: _ClassVar[int]
    SRT_NAME_FIELD_NUMBER: _ClassVar[int]
    VTT_FIELD_NUMBER: _ClassVar[int]
    VTT_NAME_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATE_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SOFT_FAIL_FIELD_NUMBER: _ClassVar[int]
    VMAF_MODEL_FIELD_NUMBER: _ClassVar[int]
    DISTORTED_FIELD_NUMBER: _ClassVar[int]
    N_SUBSAMPLE_FIELD_NUMBER: _ClassVar[int]
    SHORTEST_FIELD_NUMBER: _ClassVar[int]
    KEEP_360_METADATA_FIELD_NUMBER: _ClassVar[int]
    INJECT_360_METADATA_FIELD_NUMBER: _ClassVar[int]
    output: str
    file_extension: str
    start_time: NumberOrString
    duration: NumberOrString
    destination: _containers.RepeatedCompositeFieldContainer[Destination]
    size: str
    width: int
    height: int
    resolution: int
    rotate: int
    aspect_ratio: NumberOrString
    resize_mode: str
    framerate: NumberOrString
    framerate_limit: NumberOrString
    keyframe: NumberOrString
    quality: NumberOrString
    bitrate: NumberOrString
    two_pass: int
    pix_format: str
    packager_version: int
    video_codec: str
    profile: str
    video_codec_parameters: VideoCodecParameters
    tag_video: str
    hdr_to_sdr: int
    audio_codec: str
    audio_bitrate: int
    audio_sample_rate: int
    audio_channels_number: int
    audio_mute: int
    audio_pan: _containers.ScalarMap[str, str]
    playlist_name: str
    stream: _containers.RepeatedCompositeFieldContainer[Stream]
    segment_duration: NumberOrString
    i_frames_only: int
    fmp4: int
    create_m3u8_playlist: int
    separate_audio: int
    single_folder: int
    time: float
    frame_number: int
    interval: int
    image_format: str
    sprite: int
    columns: int
    subtitles: Subtitles
    logo: _containers.RepeatedCompositeFieldContainer[Logo]
    color_space: NumberOrString
    color_range: NumberOrString
    color_trc: NumberOrString
    color_primaries: NumberOrString
    optimize_bitrate: int
    min_crf: int
    max_crf: int
    adjust_crf: int
    tag: str
    incremental_tag: str
    cenc_drm: CencDrm
    fps_drm: FpsDrm
    encryption: Encryption
    buydrm_drm: BuydrmDrm
    metadata_version: str
    audio_copy: int
    subtitles_copy: int
    video_copy: int
    metadata_copy: int
    deinterlace: int
    transcript: int
    transcript_name: str
    json: int
    json_name: str
    srt: int
    srt_name: str
    vtt: int
    vtt_name: str
    mode: str
    language: str
    translate_languages: _containers.RepeatedScalarFieldContainer[str]
    allow_soft_fail: int
    vmaf_model: str
    distorted: str
    n_subsample: NumberOrString
    shortest: int
    keep_360_metadata: int
    inject_360_metadata: Inject360Metadata
    def __init__(self, output: _Optional[str] = ..., file_extension: _Optional[str] = ..., start_time: _Optional[_Union[NumberOrString, _Mapping]] = ..., duration: _Optional[_Union[NumberOrString, _Mapping]] = ..., destination: _Optional[_Iterable[_Union[Destination, _Mapping]]] = ..., size: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., resolution: _Optional[int] = ..., rotate: _Optional[int] = ..., aspect_ratio: _Optional[_Union[NumberOrString, _Mapping]] = ..., resize_mode: _Optional[str] = ..., framerate: _Optional[_Union[NumberOrString, _Mapping]] = ..., framerate_limit: _Optional[_Union[NumberOrString, _Mapping]] = ..., keyframe: _Optional[_Union[NumberOrString, _Mapping]] = ..., quality: _Optional[_Union[NumberOrString, _Mapping]] = ..., bitrate: _Optional[_Union[NumberOrString, _Mapping]] = ..., two_pass: _Optional[int] = ..., pix_format: _Optional[str] = ..., packager_version: _Optional[int] = ..., video_codec: _Optional[str] = ..., profile: _Optional[str] = ..., video_codec_parameters: _Optional[_Union[VideoCodecParameters, _Mapping]] = ..., tag_video: _Optional[str] = ..., hdr_to_sdr: _Optional[int] = ..., audio_codec: _Optional[str] = ..., audio_bitrate: _Optional[int] = ..., audio_sample_rate: _Optional[int] = ..., audio_channels_number: _Optional[int] = ..., audio_mute: _Optional[int] = ..., audio_pan: _Optional[_Mapping[str, str]] = ..., playlist_name: _Optional[str] = ..., stream: _Optional[_Iterable[_Union[Stream, _Mapping]]] = ..., segment_duration: _Optional[_Union[NumberOrString, _Mapping]] = ..., i_frames_only: _Optional[int] = ..., fmp4: _Optional[int] = ..., create_m3u8_playlist: _Optional[int] = ..., separate_audio: _Optional[int] = ..., single_folder: _Optional[int] = ..., time: _Optional[float] = ..., frame_number: _Optional[int] = ..., interval: _Optional[int] = ..., image_format: _Optional[str] = ..., sprite: _Optional[int] = ..., columns: _Optional[int] = ..., subtitles: _Optional[_Union[Subtitles, _Mapping]] = ..., logo: _Optional[_Iterable[_Union[Logo, _Mapping]]] = ..., color_space: _Optional[_Union[NumberOrString, _Mapping]] = ..., color_range: _Optional[_Union[NumberOrString, _Mapping]] = ..., color_trc: _Optional[_Union[NumberOrString, _Mapping]] = ..., color_primaries: _Optional[_Union[NumberOrString, _Mapping]] = ..., optimize_bitrate: _Optional[int] = ..., min_crf: _Optional[int] = ..., max_crf: _Optional[int] = ..., adjust_crf: _Optional[int] = ..., tag: _Optional[str] = ..., incremental_tag: _Optional[str] = ..., cenc_drm: _Optional[_Union[CencDrm, _Mapping]] = ..., fps_drm: _Optional[_Union[FpsDrm, _Mapping]] = ..., encryption: _Optional[_Union[Encryption, _Mapping]] = ..., buydrm_drm: _Optional[_Union[BuydrmDrm, _Mapping]] = ..., metadata_version: _Optional[str] = ..., audio_copy: _Optional[int] = ..., subtitles_copy: _Optional[int] = ..., video_copy: _Optional[int] = ..., metadata_copy: _Optional[int] = ..., deinterlace: _Optional[int] = ..., transcript: _Optional[int] = ..., transcript_name: _Optional[str] = ..., json: _Optional[int] = ..., json_name: _Optional[str] = ..., srt: _Optional[int] = ..., srt_name: _Optional[str] = ..., vtt: _Optional[int] = ..., vtt_name: _Optional[str] = ..., mode: _Optional[str] = ..., language: _Optional[str] = ..., translate_languages: _Optional[_Iterable[str]] = ..., allow_soft_fail: _Optional[int] = ..., vmaf_model: _Optional[str] = ..., distorted: _Optional[str] = ..., n_subsample: _Optional[_Union[NumberOrString, _Mapping]] = ..., shortest: _Optional[int] = ..., keep_360_metadata: _Optional[int] = ..., inject_360_metadata: _Optional[_Union[Inject360Metadata, _Mapping]] = ...) -> None: ...

class Destination(_message.Message):
    __slots__ = ("url", "key", "secret", "permissions", "storage_class", "cache_control", "is_passive", "use_tls", "tcp_port", "udp_port")
    URL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    STORAGE_CLASS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CONTROL_FIELD_NUMBER: _ClassVar[int]
    IS_PASSIVE_FIELD_NUMBER: _ClassVar[int]
    USE_TLS_FIELD_NUMBER: _ClassVar[int]
    TCP_PORT_FIELD_NUMBER: _ClassVar[int]
    UDP_PORT_FIELD_NUMBER: _ClassVar[int]
    url: str
    key: str
    secret: str
    permissions: str
    storage_class: str
    cache_control: str
    is_passive: int
    use_tls: int
    tcp_port: int
    udp_port: int
    def __init__(self, url: _Optional[str] = ..., key: _Optional[str] = ..., secret: _Optional[str] = ..., permissions: _Optional[str] = ..., storage_class: _Optional[str] = ..., cache_control: _Optional[str] = ..., is_passive: _Optional[int] = ..., use_tls: _Optional[int] = ..., tcp_port: _Optional[int] = ..., udp_port: _Optional[int] = ...) -> None: ...

class Stream(_message.Message):
    __slots__ = ("size", "width", "height", "resolution", "rotate", "aspect_ratio", "framerate", "keyframe", "quality", "bitrate", "two_pass", "pix_format", "video_codec", "profile", "video_codec_parameters", "tag_video", "audio_codec", "audio_bitrate", "audio_sample_rate", "audio_channels_number", "audio_mute", "logo", "color_space", "color_range", "color_trc", "color_primaries", "optimize_bitrate", "min_crf", "max_crf", "adjust_crf", "tag", "chunklist_name")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    ROTATE_FIELD_NUMBER: _ClassVar[int]
    ASPECT_RATIO_FIELD_NUMBER: _ClassVar[int]
    FRAMERATE_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    BITRATE_FIELD_NUMBER: _ClassVar[int]
    TWO_PASS_FIELD_NUMBER: _ClassVar[int]
    PIX_FORMAT_FIELD_NUMBER: _ClassVar[int]
    VIDEO_CODEC_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    VIDEO_CODEC_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    TAG_VIDEO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CODEC_FIELD_NUMBER: _ClassVar[int]
    AUDIO_BITRATE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CHANNELS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AUDIO_MUTE_FIELD_NUMBER: _ClassVar[int]
    LOGO_FIELD_NUMBER: _ClassVar[int]
    COLOR_SPACE_FIELD_NUMBER: _ClassVar[int]
    COLOR_RANGE_FIELD_NUMBER: _ClassVar[int]
    COLOR_TRC_FIELD_NUMBER: _ClassVar[int]
    COLOR_PRIMARIES_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZE_BITRATE_FIELD_NUMBER: _ClassVar[int]
    MIN_CRF_FIELD_NUMBER: _ClassVar[int]
    MAX_CRF_FIELD_NUMBER: _ClassVar[int]
    ADJUST_CRF_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    CHUNKLIST_NAME_FIELD_NUMBER: _ClassVar[int]
    size: str
    width: int
    height: int
    resolution: int
    rotate: int
    aspect_ratio: NumberOrString
    framerate: NumberOrString
    keyframe: NumberOrString
    quality: NumberOrString
    bitrate: NumberOrString
    two_pass: int
    pix_format: str
    video_codec: str
    profile: str
    video_codec_parameters: VideoCodecParameters
    tag_video: str
    audio_codec: str
    audio_bitrate: int
    audio_sample_rate: int
    audio_channels_number: int
    audio_mute: int
    logo: _containers.RepeatedCompositeFieldContainer[Logo]
    color_space: NumberOrString
    color_range: NumberOrString
    color_trc: NumberOrString
    color_primaries: NumberOrString
    optimize_bitrate: int
    min_crf: int
    max_crf: int
    adjust_crf: int
    tag: str
    chunklist_name: str
    def __init__(self, size: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., resolution: _Optional[int] = ..., rotate: _Optional[int] = ..., aspect_ratio: _Optional[_Union[NumberOrString, _Mapping]] = ..., framerate: _Optional[_Union[NumberOrString, _Mapping]] = ..., keyframe: _Optional[_Union[NumberOrString, _Mapping]] = ..., quality: _Optional[_Union[NumberOrString, _Mapping]] = ..., bitrate: _Optional[_Union[NumberOrString, _Mapping]] = ..., two_pass: _Optional[int] = ..., pix_format: _Optional[str] = ..., video_codec: _Optional[str] = ..., profile: _Optional[str] = ..., video_codec_parameters: _Optional[_Union[VideoCodecParameters, _Mapping]] = ..., tag_video: _Optional[str] = ..., audio_codec: _Optional[str] = ..., audio_bitrate: _Optional[int] = ..., audio_sample_rate: _Optional[int] = ..., audio_channels_number: _Optional[int] = ..., audio_mute: _Optional[int] = ..., logo: _Optional[_Iterable[_Union[Logo, _Mapping]]] = ..., color_space: _Optional[_Union[NumberOrString, _Mapping]] = ..., color_range: _Optional[_Union[NumberOrString, _Mapping]] = ..., color_trc: _Optional[_Union[NumberOrString, _Mapping]] = ..., color_primaries: _Optional[_Union[NumberOrString, _Mapping]] = ..., optimize_bitrate: _Optional[int] = ..., min_crf: _Optional[int] = ..., max_crf: _Optional[int] = ..., adjust_crf: _Optional[int] = ..., tag: _Optional[str] = ..., chunklist_name: _Optional[str] = ...) -> None: ...

class VideoCodecParameters(_message.Message):
    __slots__ = ("vprofile", "level", "coder", "flags2", "partitions", "bf", "directpred", "me_method", "subq", "trellis", "refs", "cmp", "me_range", "sc_threshold", "i_qfactor", "b_strategy", "qcomp", "qmin", "qmax", "qdiff", "max_rate", "min_rate", "bufsize", "sws_flags", "preset", "flags", "rc_lookahead", "lcevc_tune", "scaling_mode_level0", "dc_dithering_type", "dc_dithering_strength", "dc_dithering_qp_start", "dc_dithering_qp_saturate", "m_ad_mode", "m_hf_strength", "m_lf_strength", "tune", "aq_mode", "film_grain", "fast_decode", "enable_dlf", "enable_restoration", "hierarchical_levels", "pred_struct")
    VPROFILE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CODER_FIELD_NUMBER: _ClassVar[int]
    FLAGS2_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    BF_FIELD_NUMBER: _ClassVar[int]
    DIRECTPRED_FIELD_NUMBER: _ClassVar[int]
    ME_METHOD_FIELD_NUMBER: _ClassVar[int]
    SUBQ_FIELD_NUMBER: _ClassVar[int]
    TRELLIS_FIELD_NUMBER: _ClassVar[int]
    REFS_FIELD_NUMBER: _ClassVar[int]
    CMP_FIELD_NUMBER: _ClassVar[int]
    ME_RANGE_FIELD_NUMBER: _ClassVar[int]
    SC_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    I_QFACTOR_FIELD_NUMBER: _ClassVar[int]
    B_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    QCOMP_FIELD_NUMBER: _ClassVar[int]
    QMIN_FIELD_NUMBER: _ClassVar[int]
    QMAX_FIELD_NUMBER: _ClassVar[int]
    QDIFF_FIELD_NUMBER: _ClassVar[int]
    MAX_RATE_FIELD_NUMBER: _ClassVar[int]
    MIN_RATE_FIELD_NUMBER: _ClassVar[int]
    BUFSIZE_FIELD_NUMBER: _ClassVar[int]
    SWS_FLAGS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    RC_LOOKAHEAD_FIELD_NUMBER: _ClassVar[int]
    LCEVC_TUNE_FIELD_NUMBER: _ClassVar[int]
    SCALING_MODE_LEVEL0_FIELD_NUMBER: _ClassVar[int]
    DC_DITHERING_TYPE_FIELD_NUMBER: _ClassVar[int]
    DC_DITHERING_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    DC_DITHERING_QP_START_FIELD_NUMBER: _ClassVar[int]
    DC_DITHERING_QP_SATURATE_FIELD_NUMBER: _ClassVar[int]
    M_AD_MODE_FIELD_NUMBER: _ClassVar[int]
    M_HF_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    M_LF_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    TUNE_FIELD_NUMBER: _ClassVar[int]
    AQ_MODE_FIELD_NUMBER: _ClassVar[int]
    FILM_GRAIN_FIELD_NUMBER: _ClassVar[int]
    FAST_DECODE_FIELD_NUMBER: _ClassVar[int]
    ENABLE_DLF_FIELD_NUMBER: _ClassVar[int]
    ENABLE_RESTORATION_FIELD_NUMBER: _ClassVar[int]
    HIERARCHICAL_LEVELS_FIELD_NUMBER: _ClassVar[int]
    PRED_STRUCT_FIELD_NUMBER: _ClassVar[int]
    vprofile: str
    level: NumberOrString
    coder: int
    flags2: str
    partitions: str
    bf: NumberOrString
    directpred: NumberOrString
    me_method: str
    subq: NumberOrString
    trellis: NumberOrString
    refs: NumberOrString
    cmp: NumberOrString
    me_range: NumberOrString
    sc_threshold: NumberOrString
    i_qfactor: NumberOrString
    b_strategy: NumberOrString
    qcomp: NumberOrString
    qmin: NumberOrString
    qmax: NumberOrString
    qdiff: NumberOrString
    max_rate: NumberOrString
    min_rate: NumberOrString
    bufsize: NumberOrString
    sws_flags: str
    preset: NumberOrString
    flags: str
    rc_lookahead: NumberOrString
    lcevc_tune: str
    scaling_mode_level0: str
    dc_dithering_type: str
    dc_dithering_strength: int
    dc_dithering_qp_start: int
    dc_dithering_qp_saturate: int
    m_ad_mode: str
    m_hf_strength: float
    m_lf_strength: float
    tune: NumberOrString
    aq_mode: int
    film_grain: int
    fast_decode: int
    enable_dlf: int
    enable_restoration: int
    hierarchical_levels: int
    pred_struct: int
    def __init__(self, vprofile: _Optional[str] = ..., level: _Optional[_Union[NumberOrString, _Mapping]] = ..., coder: _Optional[int] = ..., flags2: _Optional[str] = ..., partitions: _Optional[str] = ..., bf: _Optional[_Union[NumberOrString, _Mapping]] = ..., directpred: _Optional[_Union[NumberOrString, _Mapping]] = ..., me_method: _Optional[str] = ..., subq: _Optional[_Union[NumberOrString, _Mapping]] = ..., trellis: _Optional[_Union[NumberOrString, _Mapping]] = ..., refs: _Optional[_Union[NumberOrString, _Mapping]] = ..., cmp: _Optional[_Union[NumberOrString, _Mapping]] = ..., me_range: _Optional[_Union[NumberOrString, _Mapping]] = ..., sc_threshold: _Optional[_Union[NumberOrString, _Mapping]] = ..., i_qfactor: _Optional[_Union[NumberOrString, _Mapping]] = ..., b_strategy: _Optional[_Union[NumberOrString, _Mapping]] = ..., qcomp: _Optional[_Union[NumberOrString, _Mapping]] = ..., qmin: _Optional[_Union[NumberOrString, _Mapping]] = ..., qmax: _Optional[_Union[NumberOrString, _Mapping]] = ..., qdiff: _Optional[_Union[NumberOrString, _Mapping]] = ..., max_rate: _Optional[_Union[NumberOrString, _Mapping]] = ..., min_rate: _Optional[_Union[NumberOrString, _Mapping]] = ..., bufsize: _Optional[_Union[NumberOrString, _Mapping]] = ..., sws_flags: _Optional[str] = ..., preset: _Optional[_Union[NumberOrString, _Mapping]] = ..., flags: _Optional[str] = ..., rc_lookahead: _Optional[_Union[NumberOrString, _Mapping]] = ..., lcevc_tune: _Optional[str] = ..., scaling_mode_level0: _Optional[str] = ..., dc_dithering_type: _Optional[str] = ..., dc_dithering_strength: _Optional[int] = ..., dc_dithering_qp_start: _Optional[int] = ..., dc_dithering_qp_saturate: _Optional[int] = ..., m_ad_mode: _Optional[str] = ..., m_hf_strength: _Optional[float] = ..., m_lf_strength: _Optional[float] = ..., tune: _Optional[_Union[NumberOrString, _Mapping]] = ..., aq_mode: _Optional[int] = ..., film_grain: _Optional[int] = ..., fast_decode: _Optional[int] = ..., enable_dlf: _Optional[int] = ..., enable_restoration: _Optional[int] = ..., hierarchical_levels: _Optional[int] = ..., pred_struct: _Optional[int] = ...) -> None: ...

class Subtitles(_message.Message):
    __slots__ = ("sources", "copy")
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    COPY_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[SubtitleSource]
    copy: int
    def __init__(self, sources: _Optional[_Iterable[_Union[SubtitleSource, _Mapping]]] = ..., copy: _Optional[int] = ...) -> None: ...

class SubtitleSource(_message.Message):
    __slots__ = ("source", "language")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    source: str
    language: str
    def __init__(self, source: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class Logo(_message.Message):
    __slots__ = ("source", "x", "y", "opacity", "start_time", "duration")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    OPACITY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    source: str
    x: int
    y: int
    opacity: float
    start_time: NumberOrString
    duration: NumberOrString
    def __init__(self, source: _Optional[str] = ..., x: _Optional[int] = ..., y: _Optional[int] = ..., opacity: _Optional[float] = ..., start_time: _Optional[_Union[NumberOrString, _Mapping]] = ..., duration: _Optional[_Union[NumberOrString, _Mapping]] = ...) -> None: ...

class CencDrm(_message.Message):
    __slots__ = ("key", "key_id", "iv", "pssh", "la_url")
    KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    IV_FIELD_NUMBER: _ClassVar[int]
    PSSH_FIELD_NUMBER: _ClassVar[int]
    LA_URL_FIELD_NUMBER: _ClassVar[int]
    key: str
    key_id: str
    iv: str
    pssh: str
    la_url: str
    def __init__(self, key: _Optional[str] = ..., key_id: _Optional[str] = ..., iv: _Optional[str] = ..., pssh: _Optional[str] = ..., la_url: _Optional[str] = ...) -> None: ...

class FpsDrm(_message.Message):
    __slots__ = ("key", "iv", "key_url")
    KEY_FIELD_NUMBER: _ClassVar[int]
    IV_FIELD_NUMBER: _ClassVar[int]
    KEY_URL_FIELD_NUMBER: _ClassVar[int]
    key: str
    iv: str
    key_url: str
    def __init__(self, key: _Optional[str] = ..., iv: _Optional[str] = ..., key_url: _Optional[str] = ...) -> None: ...

class Encryption(_message.Message):
    __slots__ = ("key", "iv", "key_url")
    KEY_FIELD_NUMBER: _ClassVar[int]
    IV_FIELD_NUMBER: _ClassVar[int]
    KEY_URL_FIELD_NUMBER: _ClassVar[int]
    key: str
    iv: str
    key_url: str
    def __init__(self, key: _Optional[str] = ..., iv: _Optional[str] = ..., key_url: _Optional[str] = ...) -> None: ...

class BuydrmDrm(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: str
    def __init__(self, request: _Optional[str] = ...) -> None: ...

class Inject360Metadata(_message.Message):
    __slots__ = ("side_data_type", "projection", "vr180", "stereo", "full_width", "full_height", "cropped_width", "cropped_height", "cropped_left", "cropped_top")
    SIDE_DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    VR180_FIELD_NUMBER: _ClassVar[int]
    STEREO_FIELD_NUMBER: _ClassVar[int]
    FULL_WIDTH_FIELD_NUMBER: _ClassVar[int]
    FULL_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CROPPED_WIDTH_FIELD_NUMBER: _ClassVar[int]
    CROPPED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CROPPED_LEFT_FIELD_NUMBER: _ClassVar[int]
    CROPPED_TOP_FIELD_NUMBER: _ClassVar[int]
    side_data_type: str
    projection: str
    vr180: int
    stereo: str
    full_width: int
    full_height: int
    cropped_width: int
    cropped_height: int
    cropped_left: int
    cropped_top: int
    def __init__(self, side_data_type: _Optional[str] = ..., projection: _Optional[str] = ..., vr180: _Optional[int] = ..., stereo: _Optional[str] = ..., full_width: _Optional[int] = ..., full_height: _Optional[int] = ..., cropped_width: _Optional[int] = ..., cropped_height: _Optional[int] = ..., cropped_left: _Optional[int] = ..., cropped_top: _Optional[int] = ...) -> None: ...
