//! The images this project builds, their folders under `images/`, their names and their overrides.

/// One of the project's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Image {
    /// `coditect-base`: Python, Node.js, Claude Code, the developer, the protected framework.
    Base,
    /// `coditect-docker`: license key and heartbeat.
    Docker,
    /// `coditect-workstation`: GCP identity, several users.
    Workstation,
    /// `coditect-local-dev`: internal, unlicensed.
    LocalDev,
}

impl Image {
    /// Every image, base first.
    pub const ALL: [Self; 4] = [Self::Base, Self::Docker, Self::Workstation, Self::LocalDev];

    /// The folder under `images/` holding its Dockerfile.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Docker => "licensed-docker",
            Self::Workstation => "licensed-workstation",
            Self::LocalDev => "local-dev",
        }
    }

    /// The repository name, as ADR-193 names the images.
    pub fn repository(self) -> &'static str {
        match self {
            Self::Base => "coditect-base",
            Self::Docker => "coditect-docker",
            Self::Workstation => "coditect-workstation",
            Self::LocalDev => "coditect-local-dev",
        }
    }

    /// The env variable that substitutes a prebuilt image for this one.
    pub fn override_var(self) -> Option<&'static str> {
        match self {
            Self::Base => Some("CODITECT_IMAGE_BASE"),
            Self::Docker => Some("CODITECT_IMAGE_DOCKER"),
            Self::Workstation => Some("CODITECT_IMAGE_WORKSTATION"),
            Self::LocalDev => None,
        }
    }

    /// The tag the build gives it: `coditect-base:1.0.0`.
    pub fn tag(self) -> String {
        format!("{}:{}", self.repository(), crate::VERSION)
    }
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.repository())
    }
}
