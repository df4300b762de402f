"""SSH-managed edge devices (Cisco IOS, Yamaha RTX): site checks and router config pushes."""
