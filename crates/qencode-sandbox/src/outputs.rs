//! The output formats Qencode supports and what each one produces: which status
//! list it appears in and what file (or folder) it writes.

/// A supported `format[].output` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Mp4,
    Webm,
    AdvancedHls,
    AdvancedDash,
    WebmDash,
    Repack,
    Mp3,
    HlsAudio,
    Flac,
    Gif,
    Thumbnail,
    Thumbnails,
    Metadata,
    SpeechToText,
}

/// The status list (`videos`, `audios`, `images`) an output is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputList {
    Videos,
    Audios,
    Images,
}

impl OutputList {
    /// Prefix of the system tag (`video-0-0`).
    pub(crate) fn tag_prefix(self) -> &'static str {
        match self {
            Self::Videos => "video",
            Self::Audios => "audio",
            Self::Images => "image",
        }
    }
}

/// What an output writes at its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Artifact {
    /// A single file with this extension; the destination URL is the file itself.
    File(String),
    /// A folder; the reported URL is this entry file inside it (a playlist, the
    /// thumbnails' .vtt).
    Folder(&'static str),
}

const ALL: [(&str, OutputFormat); 14] = [
    ("mp4", OutputFormat::Mp4),
    ("webm", OutputFormat::Webm),
    ("advanced_hls", OutputFormat::AdvancedHls),
    ("advanced_dash", OutputFormat::AdvancedDash),
    ("webm_dash", OutputFormat::WebmDash),
    ("repack", OutputFormat::Repack),
    ("mp3", OutputFormat::Mp3),
    ("hls_audio", OutputFormat::HlsAudio),
    ("flac", OutputFormat::Flac),
    ("gif", OutputFormat::Gif),
    ("thumbnail", OutputFormat::Thumbnail),
    ("thumbnails", OutputFormat::Thumbnails),
    ("metadata", OutputFormat::Metadata),
    ("speech_to_text", OutputFormat::SpeechToText),
];

impl OutputFormat {
    /// Parses a documented output name (case-sensitive, as Qencode documents them).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The documented name.
    pub(crate) fn name(self) -> &'static str {
        ALL.iter()
            .find(|(_, f)| *f == self)
            .map_or("unknown", |(n, _)| n)
    }

    /// The status list the output appears in; `None` for outputs the document's
    /// status object has no list for (speech_to_text). Metadata is reported in
    /// `videos`: Qencode's client libraries fetch the metadata document from the
    /// `url` of the first `videos` entry (falling back to `audios`).
    pub(crate) fn list(self) -> Option<OutputList> {
        match self {
            Self::Mp4
            | Self::Webm
            | Self::AdvancedHls
            | Self::AdvancedDash
            | Self::WebmDash
            | Self::Repack
            | Self::Metadata => Some(OutputList::Videos),
            Self::Mp3 | Self::HlsAudio | Self::Flac => Some(OutputList::Audios),
            Self::Gif | Self::Thumbnail | Self::Thumbnails => Some(OutputList::Images),
            Self::SpeechToText => None,
        }
    }

    /// What the output writes. `image_format` is the format's `image_format`
    /// attribute (png by default, as documented).
    pub(crate) fn artifact(self, image_format: Option<&str>) -> Artifact {
        match self {
            Self::Mp4 | Self::Repack => Artifact::File("mp4".into()),
            Self::Webm => Artifact::File("webm".into()),
            Self::Mp3 => Artifact::File("mp3".into()),
            Self::Flac => Artifact::File("flac".into()),
            Self::Gif => Artifact::File("gif".into()),
            Self::Thumbnail => Artifact::File(match image_format {
                Some("jpg") => "jpg".into(),
                _ => "png".into(),
            }),
            Self::AdvancedHls | Self::HlsAudio => Artifact::Folder("playlist.m3u8"),
            Self::AdvancedDash | Self::WebmDash => Artifact::Folder("playlist.mpd"),
            Self::Thumbnails => Artifact::Folder("thumbnails.vtt"),
            Self::Metadata => Artifact::File("json".into()),
            Self::SpeechToText => Artifact::Folder("transcript.txt"),
        }
    }

    /// The codec reported in video or audio metadata when the query names none.
    pub(crate) fn default_codec(self) -> &'static str {
        match self {
            Self::Webm | Self::WebmDash => "vp9",
            Self::Mp3 => "mp3",
            Self::Flac => "flac",
            Self::Gif => "gif",
            Self::Thumbnail | Self::Thumbnails => "png",
            _ => "h264",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_name_round_trips() {
        for (name, format) in ALL {
            assert_eq!(OutputFormat::from_name(name), Some(format));
            assert_eq!(format.name(), name);
        }
        assert_eq!(OutputFormat::from_name("avi"), None);
        assert_eq!(OutputFormat::from_name("MP4"), None);
    }

    #[test]
    fn lists_follow_media_kind() {
        assert_eq!(OutputFormat::AdvancedHls.list(), Some(OutputList::Videos));
        assert_eq!(OutputFormat::HlsAudio.list(), Some(OutputList::Audios));
        assert_eq!(OutputFormat::Thumbnails.list(), Some(OutputList::Images));
        assert_eq!(OutputFormat::Metadata.list(), Some(OutputList::Videos));
        assert_eq!(OutputFormat::SpeechToText.list(), None);
    }

    #[test]
    fn thumbnail_extension_follows_image_format() {
        assert_eq!(
            OutputFormat::Thumbnail.artifact(Some("jpg")),
            Artifact::File("jpg".into())
        );
        assert_eq!(
            OutputFormat::Thumbnail.artifact(None),
            Artifact::File("png".into())
        );
    }
}
