//! The HTTP side of callward: health and metrics now; the API, console,
//! authentication and key release as they land.
