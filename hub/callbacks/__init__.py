"""Partner callbacks: signed notifications of recorded or rejected registrations."""
