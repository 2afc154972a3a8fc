"""KubeFATE (docker-compose) rendering shared by the kubefate Ansible role, the plan and the tests."""
